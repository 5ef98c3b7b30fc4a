"""A local emulator of the Encord API for tests that drive the real ``encord`` SDK over HTTP.

See ``server.EncordEmulator`` for the test-facing API, ``faults`` for fault injection and the
SDK's retry behaviour, ``listing`` for the listing semantics, ``log`` for the request log.
"""

from .faults import Fault
from .keys import SshKey, generate_ssh_key
from .log import RecordedRequest, RequestLog
from .samples import add_sample_project, clone_row, load as load_sample
from .server import EncordEmulator

__all__ = ["EncordEmulator", "add_sample_project", "Fault", "RecordedRequest", "RequestLog", "SshKey", "clone_row",
           "generate_ssh_key", "load_sample"]
