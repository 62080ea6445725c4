# Shared by the infra scripts: endpoints and tools. Only the standard AWS variables
# configure where things go; nothing here hard-codes an endpoint the user set.

use_local_endpoints() {
  export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:${SWITCHYARD_LOCALSTACK_PORT:-4566}}"
  export AWS_ENDPOINT_URL_DYNAMODB="${AWS_ENDPOINT_URL_DYNAMODB:-http://localhost:${SWITCHYARD_DYNAMODB_PORT:-8000}}"
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
}

# The AWS CLI: the one local-up installs into the project venv, else the user's.
find_aws_cli() {
  local venv_aws="$root/.cache/localstack-venv/bin/aws"
  if [ -x "$venv_aws" ]; then echo "$venv_aws"; return; fi
  if command -v aws >/dev/null 2>&1; then command -v aws; return; fi
  echo "the AWS CLI is missing: run infra/local-up (it installs one) or install awscli" >&2
  exit 1
}

find_python_with_boto3() {
  local venv_python="$root/.cache/localstack-venv/bin/python"
  if [ -x "$venv_python" ]; then echo "$venv_python"; return; fi
  if python3 -c 'import boto3' >/dev/null 2>&1; then command -v python3; return; fi
  echo "python with boto3 is missing: run infra/local-up (it installs one) or pip install boto3" >&2
  exit 1
}
