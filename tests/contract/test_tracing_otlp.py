"""Spans leave the process as the standard variables say: OTLP over HTTP (protobuf) and over
gRPC, each to a small receiver on 127.0.0.1 that decodes the ExportTraceServiceRequest."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.observe import spans
from crewyard.settings import Settings
from tests.contract.test_tracing import solo


class Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector of one route: it keeps each ExportTraceServiceRequest."""

    got: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        type(self).got.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def exported_names(
    settings: Settings, make_crew: Any, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    """One run, traced as these variables say (a fresh process's reading), then flushed."""
    solo(make_crew)
    monkeypatch.delenv("OTEL_SDK_DISABLED")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    spans.install(None)  # what the environment says, as a fresh process would read it
    try:
        gateway = Gateway(ModelTable.load(settings.models_file))
        gateway.register_script("main", ["Final Answer: done"])
        dispatcher = Dispatcher(settings, gateway=gateway)
        assert dispatcher.run(load_crew("solo", settings.crews_dir)).status == "done"
        tracing = spans.active()
        assert tracing is not None and tracing.flush(10_000)
    finally:
        if (tracing := spans.active()) is not None:
            tracing.shutdown()
        monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
        spans.install(None)


def received(requests: list[ExportTraceServiceRequest]) -> dict[str, Any]:
    """Each received span by name, with its resource's service.name as `service`."""
    found: dict[str, Any] = {}
    for request in requests:
        for resource in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}
            for scope in resource.scope_spans:
                for span in scope.spans:
                    found[span.name] = (service["service.name"], span)
    return found


SENT = ["chat main", "invoke_agent a", "invoke_workflow solo", "task t"]


def test_spans_reach_an_otlp_http_collector_named_by_the_standard_variables(
    settings: Settings, make_crew: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    Receiver.got = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {  # /v1/traces is added by the SDK
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
        "OTEL_SERVICE_NAME": "crew-test",
    }
    try:
        exported_names(settings, make_crew, monkeypatch, env)
    finally:
        server.shutdown()
    got = received(Receiver.got)
    assert sorted(got) == SENT
    service, chat = got["chat main"]
    assert service == "crew-test"
    attrs = {a.key: a.value for a in chat.attributes}
    assert attrs["gen_ai.system"].string_value == "scripted"
    assert attrs["gen_ai.usage.input_tokens"].int_value > 0


def test_spans_reach_an_otlp_grpc_collector_with_the_grpc_protocol(
    settings: Settings, make_crew: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent import futures

    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    got: list[ExportTraceServiceRequest] = []

    class Collector(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:
            got.append(request)
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Collector(), server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    env = {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_INSECURE": "true",
    }
    try:
        exported_names(settings, make_crew, monkeypatch, env)
    finally:
        server.stop(0)
    got_spans = received(got)
    assert sorted(got_spans) == SENT
    assert got_spans["chat main"][0] == "crewyard"  # the default service.name
