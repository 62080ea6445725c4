"""The cold-start anchor: what a Python agent on Lambda pays before its first answer. It
imports LangGraph with its SQLite checkpointer, builds a one-node graph that does the relay
agent's work (count the hop), and answers task events from the Lambda Runtime API.
"""

import json
import os
import sqlite3
import sys
import tempfile
import urllib.request
from typing import TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph


class Baton(TypedDict):
    hops: int
    note: str


def relay(baton: Baton) -> Baton:
    return {"hops": baton["hops"] + 1, "note": baton["note"]}


def main() -> None:
    builder = StateGraph(Baton)
    builder.add_node("relay", relay)
    builder.add_edge(START, "relay")
    builder.add_edge("relay", END)
    database = os.path.join(tempfile.mkdtemp(prefix="bench-langgraph-"), "checkpoints.sqlite")
    graph = builder.compile(checkpointer=SqliteSaver(sqlite3.connect(database, check_same_thread=False)))
    api = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"
    while True:
        with urllib.request.urlopen(f"{api}/next") as reply:
            request_id = reply.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.load(reply)
        config = {"configurable": {"thread_id": event["context"]["run_id"]}}
        output = graph.invoke(event["envelope"]["data"], config)
        body = json.dumps(output).encode()
        urllib.request.urlopen(urllib.request.Request(f"{api}/{request_id}/response", body)).read()


if __name__ == "__main__":
    sys.exit(main())
