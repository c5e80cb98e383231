#!/usr/bin/env python3
"""Checks deploy/kubernetes/ offline: every manifest parses, has the fields the API server
requires, the names agree (the RoleBinding binds the Role to the ServiceAccount the Deployment
runs as, the Deployment mounts the ConfigMap and the claim), the Role grants what the
configuration's kubernetes sinks use, and the configuration passes
`astra-rotator check-config --offline`.

usage: verify-kubernetes-manifests.py BIN_DIR SOURCE_DIR   (exit 77: python3-yaml missing)
"""

import glob
import os
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("python3-yaml is not installed: skipped")
    sys.exit(77)

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def load(source_dir):
    documents = []
    paths = sorted(glob.glob(os.path.join(source_dir, "deploy", "kubernetes", "*.yaml")))
    check(paths, "no manifests in deploy/kubernetes")
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc is None:
                    continue
                name = os.path.basename(path)
                meta = doc.get("metadata") or {}
                check(doc.get("apiVersion"), f"{name}: no apiVersion")
                check(doc.get("kind"), f"{name}: no kind")
                check(meta.get("name"), f"{name}: {doc.get('kind')} without metadata.name")
                if doc.get("kind") != "Namespace":
                    check(meta.get("namespace"),
                          f"{name}: {doc.get('kind')} {meta.get('name')} without a namespace")
                documents.append(doc)
    return documents


def only(documents, kind):
    found = [d for d in documents if d.get("kind") == kind]
    check(len(found) == 1, f"expected one {kind}, found {len(found)}")
    return found[0] if found else {}


def properties(text):
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def grants(role, group, resource, verb, name):
    for rule in role.get("rules", []):
        if (group in rule.get("apiGroups", []) and resource in rule.get("resources", [])
                and verb in rule.get("verbs", [])
                and (not rule.get("resourceNames") or name in rule["resourceNames"])):
            return True
    return False


def main():
    bin_dir, source_dir = sys.argv[1], sys.argv[2]
    docs = load(source_dir)
    namespaces = {d["metadata"]["name"] for d in docs if d.get("kind") == "Namespace"}
    account = only(docs, "ServiceAccount")
    role = only(docs, "Role")
    binding = only(docs, "RoleBinding")
    config_map = only(docs, "ConfigMap")
    deployment = only(docs, "Deployment")
    claim = only(docs, "PersistentVolumeClaim")
    account_ns = account["metadata"]["namespace"]
    check(account_ns in namespaces, f"ServiceAccount namespace {account_ns} is not created")

    check(binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                 "name": role["metadata"]["name"]},
          "the RoleBinding does not reference the Role")
    check(binding["metadata"]["namespace"] == role["metadata"]["namespace"],
          "the RoleBinding is not in the Role's namespace")
    check({"kind": "ServiceAccount", "name": account["metadata"]["name"],
           "namespace": account_ns} in binding.get("subjects", []),
          "the RoleBinding does not bind the ServiceAccount")

    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    check(deployment["metadata"]["namespace"] == account_ns, "Deployment not in the SA namespace")
    check(spec.get("replicas") == 1, "the Deployment must run one replica")
    check(spec.get("strategy", {}).get("type") == "Recreate", "the Deployment must Recreate")
    check(pod.get("serviceAccountName") == account["metadata"]["name"],
          "the Deployment does not run as the ServiceAccount")
    check(pod.get("securityContext", {}).get("runAsNonRoot") is True, "runAsNonRoot missing")
    check(spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items(),
          "the selector does not match the pod labels")
    volumes = {v["name"]: v for v in pod["volumes"]}
    container = pod["containers"][0]
    check(container.get("securityContext", {}).get("readOnlyRootFilesystem") is True,
          "readOnlyRootFilesystem missing")
    check("serve" in container.get("args", []), "the container does not run serve")
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    config_volume = [n for n, v in volumes.items()
                     if v.get("configMap", {}).get("name") == config_map["metadata"]["name"]]
    check(config_volume, "the Deployment does not mount the ConfigMap")
    check(config_map["metadata"]["namespace"] == account_ns, "ConfigMap in another namespace")
    claims = [v for v in volumes.values()
              if v.get("persistentVolumeClaim", {}).get("claimName") == claim["metadata"]["name"]]
    check(claims, "the Deployment does not mount the PersistentVolumeClaim")

    files = {}  # path in the container -> (volume, mode)
    for name, volume in volumes.items():
        projected = volume.get("projected")
        if not projected or name not in mounts:
            continue
        mode = projected.get("defaultMode")
        check(mode in (0o400, 0o440), f"volume {name}: defaultMode {mode} lets others read it")
        for source in projected["sources"]:
            if "serviceAccountToken" in source:
                files[mounts[name] + "/" + source["serviceAccountToken"]["path"]] = "token"
            for kind in ("secret", "configMap"):
                for item in source.get(kind, {}).get("items", []):
                    files[mounts[name] + "/" + item["path"]] = kind
    check("token" in files.values(), "no projected service account token")

    config_text = None
    for key, text in config_map["data"].items():
        arg = f"--config={mounts.get(config_volume[0] if config_volume else '', '?')}/{key}"
        check(arg in container.get("args", []), f"the container does not use {arg}")
        config_text = text
    cfg = properties(config_text or "")
    check(cfg.get("astra.tokenFile") in files, "astra.tokenFile is not a mounted file")
    sinks = sorted({k.split(".")[1] for k in cfg if k.startswith("sinks.")
                    and cfg[k] == "kubernetes" and k.endswith(".type")})
    check(sinks, "the configuration has no kubernetes sink")
    for sink in sinks:
        get = lambda key: cfg.get(f"sinks.{sink}.{key}", "")
        ns, secret = get("namespace"), get("secret")
        check(ns == role["metadata"]["namespace"], f"sink {sink}: namespace {ns} is not the Role's")
        for verb in ("get", "patch"):
            check(grants(role, "", "secrets", verb, secret),
                  f"sink {sink}: the Role does not grant {verb} on secrets/{secret}")
        check(grants(role, "", "secrets", "create", ""),
              f"sink {sink}: the Role does not grant create on secrets")
        for target in filter(None, (t.strip() for t in get("restart").split(","))):
            kind, _, name = target.partition("/")
            for verb in ("get", "patch"):
                check(grants(role, "apps", kind + "s", verb, name),
                      f"sink {sink}: the Role does not grant {verb} on {target}")
        check(files.get(get("tokenFile")) == "token",
              f"sink {sink}: tokenFile is not the projected token")
        check(get("caFile") in files, f"sink {sink}: caFile is not a mounted file")

    # The configuration as the pod reads it, with the paths of this machine.
    with tempfile.TemporaryDirectory() as tmp:
        token = os.path.join(tmp, "admin.token")
        with open(os.open(token, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("AstraCS:" + "a" * 24 + ":" + "0" * 64 + "\n")
        text = config_text.replace(cfg["astra.tokenFile"], token)
        text = text.replace(cfg["state.dir"], os.path.join(tmp, "state"))
        path = os.path.join(tmp, "rotator.properties")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(text)
        run = subprocess.run([os.path.join(bin_dir, "astra-rotator"), "--config=" + path,
                              "check-config", "--offline"], capture_output=True, text=True,
                             env={"PATH": os.environ.get("PATH", "")}, check=False)
        check(run.returncode == 0,
              f"check-config --offline failed ({run.returncode}): {run.stdout}{run.stderr}")

    for failure in failures:
        print("FAIL:", failure)
    print(f"{len(docs)} manifests checked, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
