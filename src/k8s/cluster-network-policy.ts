/**
 * Where ClusterNetworkPolicies live in the API (network-policy-api v0.2):
 * `policy.networking.k8s.io/v1alpha2`, cluster-scoped. The CRD comes from
 * that project, not from nftpol's chart; nftpol only reads these objects
 * (the controller's informer, `nftpol status`), and runs without them when
 * the CRD is not installed.
 */

/** API group of ClusterNetworkPolicy. */
export const CNP_GROUP = 'policy.networking.k8s.io';
/** The version nftpol reads. */
export const CNP_VERSION = 'v1alpha2';
/** Resource name in URLs. */
export const CNP_PLURAL = 'clusternetworkpolicies';
/** Object kind. */
export const CNP_KIND = 'ClusterNetworkPolicy';
