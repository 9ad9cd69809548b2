"""tenancy verify's AWS checks against the AWS API emulator (moto).

moto does not implement ``iam:SimulatePrincipalPolicy`` (verify's prober on real AWS), so the
tests decide "may this role read/write this key" by a real call with the role's credentials
(``AssumeRoleWithWebIdentity``) while moto's IAM enforcement is on, as
tests/components/test_identity_enforcement.py does.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from tenancy.verify.clients import AwsClient
from tests.helpers.moto_server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer


def aws_client(moto: MotoServer) -> AwsClient:
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                    region_name=REGION)
    return AwsClient(session=session, endpoint_url=moto.url)


class EnforcedCallProber:
    """May the role get the object? Asked of moto with the role's own credentials, enforcement on."""

    def __init__(self, moto: MotoServer):
        self.moto = moto
        self.calls = 0

    def allowed(self, role_arn: str, bucket: str, key: str) -> bool:
        c = self.moto.client("sts").assume_role_with_web_identity(
            RoleArn=role_arn, RoleSessionName="tenancy-verify", WebIdentityToken="moto-does-not-check-tokens",
        )["Credentials"]
        s3: Any = self.moto.client("s3", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                   aws_session_token=c["SessionToken"])
        self.calls += 1
        self.moto.set_enforcement(True)
        try:
            s3.get_object(Bucket=bucket, Key=key)
            return True
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in ("NoSuchKey", "404"):
                return True  # authorized, the key just is not there
            if code in ("AccessDenied", "403"):
                return False
            raise
        finally:
            self.moto.set_enforcement(False)
