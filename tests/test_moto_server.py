from tests.helpers.moto_server import MotoServer


def test_moto_server_answers_and_enforces_iam(moto_server: MotoServer) -> None:
    ec2 = moto_server.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    assert ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["CidrBlock"] == "10.0.0.0/16"
    iam = moto_server.client("iam")
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    moto_server.set_enforcement(True)
    try:
        denied = moto_server.client(
            "ec2", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
        )
        try:
            denied.describe_vpcs()
        except Exception as exc:  # noqa: BLE001
            assert "UnauthorizedOperation" in str(exc) or "AccessDenied" in str(exc)
        else:
            raise AssertionError("a user with no policy could call ec2:DescribeVpcs")
    finally:
        moto_server.set_enforcement(False)
