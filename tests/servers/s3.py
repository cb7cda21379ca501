"""moto's S3 server (ThreadedMotoServer) on 127.0.0.1, for boto3 through AWS_ENDPOINT_URL."""

from __future__ import annotations

from dataclasses import dataclass

from .ports import free_port, wait_for_port


@dataclass
class S3Server:
    port: int
    server: object

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        """Start again on the same port; moto keeps its buckets in the process."""
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        wait_for_port(self.port)


def start_s3() -> S3Server:
    server = S3Server(free_port(), None)
    server.start()
    return server
