"""A local Alibaba Cloud VPC API (HAVIP actions) for tests and the demo: moto's server mode.

from vpc_emulator import EmulatorServer, VpcBackend, Fault, two_node_pair

backend = VpcBackend(unassociate_delay=0.05)
backend.seed(two_node_pair())
with EmulatorServer(backend) as server:
    ...  # Config(endpoint=server.endpoint, protocol="http",
         #        access_key_id="LTAIemulatorKey", access_key_secret="emulator-secret")
"""

from .faults import Fault, RamPolicy
from .models import VpcApiError, VpcBackend, two_node_pair
from .server import EmulatorServer, JournalEntry

__all__ = [
    "EmulatorServer",
    "Fault",
    "JournalEntry",
    "RamPolicy",
    "VpcApiError",
    "VpcBackend",
    "two_node_pair",
]
