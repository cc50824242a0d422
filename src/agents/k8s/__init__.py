"""``deployer k8s render``: the control plane as plain Kubernetes manifests (issue 17 item 5).

``values`` reads the shipped defaults and a person's file, ``render`` turns values into the
objects (pure: dicts, no I/O), ``ray`` the KubeRay ``RayCluster``, ``files`` writes them with a
``kustomization.yaml`` so that ``kubectl apply -k DIR`` applies them.
"""
