"""The naive reference handler: the shortest failover a user writes from the API reference.

Deployed on its own (this directory is its FC code directory, handler
``naive_handler.handler``). A manual event ``{"RegionId", "HaVipId", "InstanceId"}``; the SDK
client built on every call from the ALIBABA_CLOUD_* variables; DescribeHaVips for the HAVIP,
then UnassociateHaVip (Force=True when the instance is the master), and return at once: no
waiting for the asynchronous disassociation, no retries, no idempotency token.
It is the baseline of the benchmarks in bench/, not part of the function.
"""

import json
import os
from typing import Any

from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client


def handler(event: bytes, context: Any) -> dict[str, Any]:
    params = json.loads(event)
    region = params["RegionId"]
    ha_vip_id = params["HaVipId"]
    instance_id = params["InstanceId"]
    client = Client(
        open_api_models.Config(
            access_key_id=os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
            access_key_secret=os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
            security_token=os.environ.get("ALIBABA_CLOUD_SECURITY_TOKEN") or None,
            region_id=region,
            endpoint=os.environ.get("HAVIP_VPC_ENDPOINT") or f"vpc.{region}.aliyuncs.com",
            protocol=os.environ.get("HAVIP_VPC_PROTOCOL") or "https",
        )
    )
    described = client.describe_ha_vips(
        vpc_models.DescribeHaVipsRequest(
            region_id=region,
            filter=[vpc_models.DescribeHaVipsRequestFilter(key="HaVipId", value=[ha_vip_id])],
        )
    )
    havip = described.body.ha_vips.ha_vip[0]
    if instance_id not in havip.associated_instances.associated_instance:
        return {"HaVipId": ha_vip_id, "InstanceId": instance_id, "Result": "not associated"}
    force = havip.master_instance_id == instance_id
    response = client.unassociate_ha_vip(
        vpc_models.UnassociateHaVipRequest(region_id=region, ha_vip_id=ha_vip_id, instance_id=instance_id, force=force)
    )
    return {"HaVipId": ha_vip_id, "InstanceId": instance_id, "Force": force, "RequestId": response.body.request_id}
