"""tenancy: one Amazon EKS cluster for many tenants, with isolation you can prove."""

from .addressing import AddressPlan
from .spec import PlatformSpec, Problem, SpecError, TenantSpec, load_platform

__all__ = ["AddressPlan", "PlatformSpec", "Problem", "SpecError", "TenantSpec", "load_platform"]
