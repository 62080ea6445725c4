from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class ProcessExecutorPlugin(RuntimeExecutorPlugin):
    """Selected with LAMBDA_RUNTIME_EXECUTOR=switchyard-process."""

    name = "switchyard-process"

    def load(self, *args, **kwargs):
        # Imported lazily, as LocalStack's own docker plugin does: plux loads every plugin
        # of the namespace to list them, and only the chosen one needs its executor.
        from switchyard_localstack_executor.executor import ProcessRuntimeExecutor

        return ProcessRuntimeExecutor
