// Package kubernetes exports a topology as Kubernetes manifests: the
// objects `topo export kubernetes` prints. Export is the entry point; it
// takes a decoded topology.Topology and Options, and returns a Manifest
// of typed k8s.io/api objects, which WriteYAML writes with
// sigs.k8s.io/yaml (no templates).
//
// The objects: a ConfigMap with the topology file and the variable
// values given at export time (VarFile); a Secret with the files the
// topology reads with file() (FileCalls finds them), never in the
// ConfigMap; per host a headless Service (clusterIP None,
// publishNotReadyAddresses) with the tcp ports the host binds, and a
// Deployment of one replica when the host runs only services or a Job
// (restartPolicy OnFailure, BackoffLimit) when it runs task nodes. Every
// container runs Command with Args: topo apply -host NAME, each host's
// Service DNS name (NAME.NS.svc.cluster.local) as -host-address, -http on
// all interfaces at HTTPPort (readiness /readyz, liveness /healthz), in
// MountPath, where the ConfigMap and the Secret are projected.
//
// Names: Label maps any name to a DNS-1035 label (which is also a
// DNS-1123 label), deterministically; objects are named NAME-HOST with
// NAME the file's name. Manifest.Mapping shows the mapping.
//
// The package has no state; Export may be called concurrently.
package kubernetes
