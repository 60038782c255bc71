#!/usr/bin/env python3
"""A gRPC client of another language (Python's grpcio, not tonic) against a
carenet node's Handover service, over mutual TLS with a party's certificate.

It compiles the repository's protos with grpcio-tools, then checks:
- a well-formed request of a party that is not the pupil's destination is
  answered RECORDED (and nothing else);
- a request with a date that is none is INVALID_ARGUMENT with the field in a
  google.rpc.BadRequest and the refusal code in a google.rpc.ErrorInfo
  (reason NOT_A_DATE, domain carenet), read with grpcio-status;
- without a client certificate no call gets through.

Environment: PROTO_ROOT (the repository's proto/ folder), CREDS (a party's
credentials folder: ca.pem, cert.pem, key.pem), ADDRESS (host:port of the
node), SERVER_NAME (the node's party DNS name). Prints "all grpc checks
passed" when every check holds; exits 1 naming the first that does not.
"""

import os
import sys
import tempfile

import grpc
from grpc_status import rpc_status
from grpc_tools import protoc
from google.rpc import error_details_pb2


def fail(what):
    print(f"FAILED: {what}", file=sys.stderr)
    sys.exit(1)


def check(ok, what):
    if not ok:
        fail(what)
    print(f"ok: {what}")


def compile_protos(root, out):
    files = [os.path.join(root, "carenet", "v1", name) for name in ("handover.proto",)]
    code = protoc.main(["grpc_tools.protoc", f"-I{root}", f"--python_out={out}", f"--grpc_python_out={out}", *files])
    if code != 0:
        fail("the protos compile with grpcio-tools")
    sys.path.insert(0, out)


def main():
    root, creds = os.environ["PROTO_ROOT"], os.environ["CREDS"]
    address, server_name = os.environ["ADDRESS"], os.environ["SERVER_NAME"]
    address = address.split("://", 1)[-1]
    with tempfile.TemporaryDirectory() as out:
        compile_protos(root, out)
        from carenet.v1 import handover_pb2, handover_pb2_grpc

        def read(name):
            with open(os.path.join(creds, name), "rb") as f:
                return f.read()

        options = [("grpc.ssl_target_name_override", server_name)]
        mtls = grpc.ssl_channel_credentials(read("ca.pem"), read("key.pem"), read("cert.pem"))
        with grpc.secure_channel(address, mtls, options=options) as channel:
            stub = handover_pb2_grpc.HandoverStub(channel)
            reply = stub.RequestDossier(
                handover_pb2.DossierRequest(pupil_number="123456782", birth_date="2012-05-01"), timeout=10
            )
            check(
                reply.outcome == handover_pb2.DOSSIER_REQUEST_OUTCOME_RECORDED and not reply.message_ids,
                "a school that is not the destination is told RECORDED, nothing more",
            )
            try:
                stub.RequestDossier(
                    handover_pb2.DossierRequest(pupil_number="123456782", birth_date="2012-13-40"), timeout=10
                )
                fail("a date that is none is refused")
            except grpc.RpcError as e:
                check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "a date that is none is INVALID_ARGUMENT")
                status = rpc_status.from_call(e)
                check(status is not None, "the refusal carries google.rpc.Status details")
                fields, reasons = [], []
                for detail in status.details:
                    if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                        bad = error_details_pb2.BadRequest()
                        detail.Unpack(bad)
                        fields += [v.field for v in bad.field_violations]
                    if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                        info = error_details_pb2.ErrorInfo()
                        detail.Unpack(info)
                        reasons.append((info.reason, info.domain))
                check(fields == ["birth_date"], f"the BadRequest names the field (got {fields})")
                check(reasons == [("NOT_A_DATE", "carenet")], f"the ErrorInfo carries the code (got {reasons})")
                check("2012-13-40" not in e.details(), "the message does not echo what was sent")

        # Only the CA, no client certificate: the node lets no call through.
        anonymous = grpc.ssl_channel_credentials(read("ca.pem"))
        with grpc.secure_channel(address, anonymous, options=options) as channel:
            stub = handover_pb2_grpc.HandoverStub(channel)
            try:
                stub.RequestDossier(
                    handover_pb2.DossierRequest(pupil_number="123456782", birth_date="2012-05-01"), timeout=10
                )
                fail("a caller without a client certificate is refused")
            except grpc.RpcError as e:
                check(
                    e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED),
                    f"a caller without a client certificate gets nothing (got {e.code()})",
                )
    print("all grpc checks passed")


if __name__ == "__main__":
    main()
