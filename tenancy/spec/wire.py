"""Wire names: keys and tokens that other systems read, each spelled once.

Label, taint, annotation and tag keys, API versions and kinds, and Pulumi resource type tokens
are contracts with Kubernetes, EKS, the VPC resource controller, the AWS load balancer controller
and the Pulumi engine: a typo in one module would silently break a selector, a policy or a review
check. Every module imports them from here; ``tests/spec/test_wire.py`` fails if one of these
strings is spelled anywhere else in the package.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------
# The platform's own labels and tags

TENANT_LABEL = "tenancy/tenant"
"""Label (Kubernetes) and tag (AWS) naming the tenant that owns an object; read by the placement
admission policy, NetworkPolicy selectors and the tenant node groups' taint."""
POOL_LABEL = "tenancy/pool"
"""Label on a pool's nodes and its pooled tenants' namespaces, tag on a pool's AWS resources, and
key of the pool node groups' taint (``tenancy/pool=<pool>:NoSchedule``); read by the scheduler
and the placement admission policy."""
TIER_LABEL = "tenancy/tier"
"""Label on every tenant namespace (``premium`` or ``standard``); read by the admission policies."""
PLATFORM_TAG = "tenancy/platform"
"""Tag (AWS) and label (Kubernetes) naming the platform that owns an object; read by the platform's
policies and the live verifier."""
SERVICE_ACCOUNT_TAG = "tenancy/service-account"
"""Tag (AWS) naming the Kubernetes service account an IAM role serves."""
SUBNET_ROLE_TAG = "tenancy/subnet-role"
"""Tag (AWS) on a subnet naming its role in the platform's network."""
LOAD_BALANCERS_LABEL = "tenancy/load-balancers"
"""Namespace label the Service-exposure admission policy reads (``allowed``: LoadBalancer Services)."""
NODE_PORTS_LABEL = "tenancy/node-ports"
"""Namespace label the Service-exposure admission policy reads (``allowed``: node ports)."""
SIBLING_LABEL_PREFIX = "namespace.tenancy/"
"""Labels ``namespace.tenancy/<ns>: <ns>`` on every namespace of a tenant with several, one per
namespace of the tenant: read by the self-service admission policies (which cannot look another
namespace up) to treat the ServiceAccounts of the tenant's other namespaces as the tenant's own."""
PEER_LABEL = "tenancy/peer"
"""Label on the per-peer NetworkPolicy and Istio AuthorizationPolicy objects, naming the peer tenant."""

# --------------------------------------------------------------------------------------------
# Kubernetes, EKS and AWS controller keys

SYSTEM_TAINT_KEY = "CriticalAddonsOnly"
"""Taint key of the system node group; CoreDNS and the EKS add-ons tolerate it (the kubelet and
scheduler read it)."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by the Kubernetes API server on every namespace (1.21+), immutable by users: the only label a
NetworkPolicy can trust to name a namespace."""
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
"""Kubernetes recommended label naming the tool that manages an object."""
PART_OF_LABEL = "app.kubernetes.io/part-of"
"""Kubernetes recommended label naming the application an object belongs to."""
POD_ENI_RESOURCE = "vpc.amazonaws.com/pod-eni"
"""Extended resource (and pod annotation key) of the VPC resource controller for pods a
SecurityGroupPolicy matches (``pkg/config/type.go``, ``ResourceNamePodENI``)."""
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
"""Service-account annotation EKS's pod identity webhook reads (IAM roles for service accounts)."""
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
"""StorageClass annotation Kubernetes reads to pick the default class."""
ISTIO_REV_LABEL = "istio.io/rev"
"""Namespace label Istio's sidecar injector reads (the control-plane revision to inject)."""
CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
"""Prefix of the subnet tag the AWS load balancer controller and EKS read (``…/<cluster>``)."""
ELB_ROLE_TAG = "kubernetes.io/role/elb"
"""Subnet tag the AWS load balancer controller reads: public subnets for internet-facing ELBs."""
INTERNAL_ELB_ROLE_TAG = "kubernetes.io/role/internal-elb"
"""Subnet tag the AWS load balancer controller reads: private subnets for internal ELBs."""

# --------------------------------------------------------------------------------------------
# Kubernetes API versions and kinds

NETWORKING_API_VERSION = "networking.k8s.io/v1"
"""apiVersion of NetworkPolicy (Kubernetes)."""
RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"
"""apiVersion of Role, ClusterRole and their bindings (Kubernetes)."""
ADMISSION_API_VERSION = "admissionregistration.k8s.io/v1"
"""apiVersion of ValidatingAdmissionPolicy and its binding (Kubernetes)."""
SGP_API_VERSION = "vpcresources.k8s.aws/v1beta1"
"""apiVersion of SecurityGroupPolicy (the VPC resource controller's CRD)."""
SGP_KIND = "SecurityGroupPolicy"
"""Kind of the VPC resource controller's CRD that puts security groups on pods."""
POLICY_ENDPOINT_KIND = "PolicyEndpoint"
"""Kind of what the VPC CNI's network policy controller derives from each NetworkPolicy (the agent enforces it)."""
POLICY_ENDPOINT_CRD = "policyendpoints.networking.k8s.aws"
"""Name of the PolicyEndpoint CustomResourceDefinition."""
CNP_API_VERSION = "networking.k8s.aws/v1alpha1"
"""apiVersion of ClusterNetworkPolicy (the VPC CNI network policy controller's CRD, VPC CNI v1.21.1+)
and of PolicyEndpoint (aws/amazon-network-policy-controller-k8s ``api/v1alpha1``): one API group."""
CNP_KIND = "ClusterNetworkPolicy"
"""Kind of the cluster-scoped, tiered network policy the VPC CNI enforces (tiers Admin and Baseline)."""

# --------------------------------------------------------------------------------------------
# Pulumi resource type tokens (read by the Pulumi engine; the renders' ``type`` field)

AWS_VPC = "aws:ec2/vpc:Vpc"
"""Pulumi type token of an EC2 VPC (AWS provider)."""
AWS_SUBNET = "aws:ec2/subnet:Subnet"
"""Pulumi type token of an EC2 subnet (AWS provider)."""
AWS_SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
"""Pulumi type token of an EC2 security group (AWS provider)."""
AWS_SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
"""Pulumi type token of a (legacy) EC2 security group rule (AWS provider)."""
AWS_SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
"""Pulumi type token of a VPC security group ingress rule (AWS provider)."""
AWS_SG_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
"""Pulumi type token of a VPC security group egress rule (AWS provider)."""
AWS_ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
"""Pulumi type token of an EC2 route table (AWS provider)."""
AWS_ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
"""Pulumi type token of an EC2 route table association (AWS provider)."""
AWS_ROUTE = "aws:ec2/route:Route"
"""Pulumi type token of an EC2 route (AWS provider)."""
AWS_INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
"""Pulumi type token of an EC2 internet gateway (AWS provider)."""
AWS_NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
"""Pulumi type token of an EC2 NAT gateway (AWS provider)."""
AWS_EIP = "aws:ec2/eip:Eip"
"""Pulumi type token of an EC2 elastic IP (AWS provider)."""
AWS_VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
"""Pulumi type token of an EC2 VPC endpoint (AWS provider)."""
AWS_FLOW_LOG = "aws:ec2/flowLog:FlowLog"
"""Pulumi type token of an EC2 flow log (AWS provider)."""
AWS_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
"""Pulumi type token of an EC2 launch template (AWS provider)."""
AWS_NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
"""Pulumi type token of an EC2 network ACL (AWS provider)."""
AWS_NETWORK_ACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
"""Pulumi type token of an EC2 network ACL rule (AWS provider)."""
AWS_NETWORK_ACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
"""Pulumi type token of an EC2 network ACL association (AWS provider)."""
AWS_LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
"""Pulumi type token of a CloudWatch log group (AWS provider)."""
AWS_KMS_KEY = "aws:kms/key:Key"
"""Pulumi type token of a KMS key (AWS provider)."""
AWS_KMS_ALIAS = "aws:kms/alias:Alias"
"""Pulumi type token of a KMS alias (AWS provider)."""
AWS_S3_BUCKET = "aws:s3/bucket:Bucket"
"""Pulumi type token of an S3 bucket (AWS provider)."""
AWS_S3_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
"""Pulumi type token of an S3 bucket, the provider's v2 spelling (AWS provider)."""
AWS_S3_ACCESS_POINT = "aws:s3/accessPoint:AccessPoint"
"""Pulumi type token of an S3 access point (AWS provider)."""
EKS_COMPONENT = "eks:index:Cluster"
"""Pulumi type token of pulumi-eks's cluster component (a remote component; its children are the AWS
provider's resources)."""
AWS_EKS_CLUSTER = "aws:eks/cluster:Cluster"
"""Pulumi type token of an EKS cluster (AWS provider)."""
AWS_EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
"""Pulumi type token of an EKS managed node group (AWS provider)."""
AWS_EKS_ADDON = "aws:eks/addon:Addon"
"""Pulumi type token of an EKS add-on (AWS provider)."""
AWS_EKS_ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
"""Pulumi type token of an EKS access entry (AWS provider)."""
AWS_EKS_ACCESS_POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
"""Pulumi type token of an EKS access policy association (AWS provider)."""
AWS_EKS_POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
"""Pulumi type token of an EKS pod identity association (AWS provider)."""
AWS_AUTOSCALING_TAG = "aws:autoscaling/tag:Tag"
"""One tag on an Auto Scaling group (a managed node group's, for the cluster-autoscaler)."""

AWS_IAM_ROLE = "aws:iam/role:Role"
"""Pulumi type token of an IAM role (AWS provider)."""
AWS_IAM_POLICY = "aws:iam/policy:Policy"
"""Pulumi type token of an IAM managed policy (AWS provider)."""
AWS_IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
"""Pulumi type token of an IAM inline role policy (AWS provider)."""
AWS_IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
"""Pulumi type token of an IAM role policy attachment (AWS provider)."""

# Observability (tenancy.plan.observability)
AWS_CW_DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
"""A tenant's Container Insights dashboard."""
AWS_CW_QUERY_DEFINITION = "aws:cloudwatch/queryDefinition:QueryDefinition"
"""A saved Logs Insights query (a tenant's audit or flow evidence)."""
AWS_BACKUP_VAULT = "aws:backup/vault:Vault"
"""The AWS Backup vault (KMS-encrypted) holding the cluster's recovery points."""
AWS_BACKUP_PLAN = "aws:backup/plan:Plan"
"""The AWS Backup plan (schedule, retention)."""
AWS_BACKUP_SELECTION = "aws:backup/selection:Selection"
"""The AWS Backup selection: which resources (ARNs) the plan backs up."""
K8S_RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
"""Pulumi type token of a ResourceQuota (Kubernetes provider)."""
K8S_LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
"""Pulumi type token of a LimitRange (Kubernetes provider)."""
K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
"""Pulumi type token of a Namespace (Kubernetes provider)."""
K8S_NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
"""Pulumi type token of a NetworkPolicy (Kubernetes provider)."""
K8S_CLUSTER_NETWORK_POLICY = "kubernetes:networking.k8s.aws/v1alpha1:ClusterNetworkPolicy"
"""Pulumi type token of the VPC CNI's ClusterNetworkPolicy (a CustomResource of the Kubernetes provider)."""
K8S_VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
"""Pulumi type token of a ValidatingAdmissionPolicy (Kubernetes provider)."""
K8S_MAP = "kubernetes:admissionregistration.k8s.io/v1:MutatingAdmissionPolicy"
"""Pulumi type token of a MutatingAdmissionPolicy (Kubernetes 1.36+: placement injected, issue 26)."""
K8S_MAP_BINDING = "kubernetes:admissionregistration.k8s.io/v1:MutatingAdmissionPolicyBinding"
"""Pulumi type token of a MutatingAdmissionPolicyBinding."""
K8S_SECURITY_GROUP_POLICY = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"
"""Pulumi type token of a SecurityGroupPolicy (Kubernetes provider, the VPC resource controller's CRD)."""

PLATFORM_TYPE = "tenancy:index:Platform"
"""Pulumi type token of the platform component (``tenancy.Platform``): what is below it and belongs
to no tenant is the platform's shared part (the render report counts it apart from a program's own)."""
TENANT_TYPE = "tenancy:index:Tenant"
"""Pulumi type token of the platform's per-tenant component (``tenancy.Tenant``)."""
TENANT_BUNDLE_TYPE = "tenancy:bundle:TenantBundle"
"""Pulumi type token of a tenant's in-cluster bundle (``tenancy.TenantBundle``)."""
TEAM_TENANT_TYPE = "tenancy:team:TeamTenant"
"""Pulumi type token of a team stack's tenant (``tenancy.TeamTenant``)."""
LOG_ROUTER_TYPE = "tenancy:observability:LogRouter"
"""Pulumi type token of the per-tenant log router component (``observability.logs``; the review reads
its routes from the ConfigMap below it)."""
CONFIG_HASH_ANNOTATION = "tenancy/config-hash"
"""Pod-template annotation holding a hash of the configuration a pod reads: a change rolls the pods."""
TENANT_OBSERVABILITY_TYPE = "tenancy:observability:TenantObservability"
"""Pulumi type token of one tenant's dashboard and saved queries (``tenancy.components.observability``)."""
TENANT_OWNER_TYPES = (TENANT_TYPE, TENANT_BUNDLE_TYPE, TEAM_TENANT_TYPE, TENANT_OBSERVABILITY_TYPE)
"""Components named after the one tenant that owns everything below them (render, policy pack)."""
