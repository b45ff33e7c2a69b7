#!/usr/bin/env python3
"""Writes a single-layer OCI image archive from a root filesystem directory (python3 stdlib only).

    scripts/oci_image.py --rootfs DIR --arch amd64|arm64 --tag NAME:TAG \\
        [--entrypoint JSON-array] [--cmd JSON-array] [--env K=V]... [--label K=V]... \\
        [--workdir DIR] --out FILE.tar

The archive is an OCI image layout (oci-layout, index.json, blobs/sha256/...) that also carries a
Docker manifest.json, the same shape `docker save` writes since Docker 25. `ctr image import`
reads index.json (the image name comes from the io.containerd.image.name annotation) and
`podman load` / `docker load` read manifest.json's RepoTags.

It is reproducible: the same rootfs and arguments give the same bytes. The one layer is a gzip
tar with sorted entries, mtime 0, uid/gid 0 and no user/group names; the gzip header carries no
name and mtime 0; the config has no creation time. File modes and symlink targets come from the
rootfs; ownership does not (everything belongs to root in the image).
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# A fixed timestamp for every entry of the archive itself (the outer tar), like the layer's.
EPOCH = 0

PLATFORMS = {
    "amd64": {"architecture": "amd64", "os": "linux"},
    "arm64": {"architecture": "arm64", "os": "linux", "variant": "v8"},
}


class UsageError(Exception):
    pass


def normalize_reference(tag):
    """NAME:TAG -> the fully qualified name containerd stores (docker.io/library/NAME:TAG).

    Returns (full reference, tag part). A name without a tag gets "latest". Digests are refused:
    the archive's name is a tag.
    """
    if "@" in tag:
        raise UsageError(f"--tag {tag!r}: a digest reference is not a tag; use NAME:TAG")
    last = tag.rsplit("/", 1)[-1]
    if ":" in last:
        name, version = tag.rsplit(":", 1)
    else:
        name, version = tag, "latest"
    if not name or not version:
        raise UsageError(f"--tag {tag!r}: expected NAME:TAG")
    if name != name.lower():
        raise UsageError(f"--tag {tag!r}: the repository name must be lower case")
    first, sep, _ = name.partition("/")
    has_domain = sep and ("." in first or ":" in first or first == "localhost")
    if not has_domain:
        name = ("docker.io/" + name) if sep else ("docker.io/library/" + name)
    return f"{name}:{version}", version


def json_array(flag, text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"{flag}: not JSON ({e}); expected e.g. '[\"/bin/sh\", \"-c\"]'")
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise UsageError(f"{flag}: expected a JSON array of strings, got {text!r}")
    return value


def key_values(flag, items):
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def rootfs_entries(rootfs):
    """Relative paths under rootfs, parents before children, in a stable (byte-wise) order."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(rootfs, followlinks=False):
        dirnames.sort()
        rel = os.path.relpath(dirpath, rootfs)
        for name in dirnames + filenames:
            entries.append(name if rel == "." else os.path.join(rel, name))
    entries.sort(key=lambda p: p.split(os.sep))
    return entries


def layer_tar(rootfs):
    """The uncompressed layer: a reproducible tar of rootfs."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        hardlinks = {}
        for rel in rootfs_entries(rootfs):
            path = os.path.join(rootfs, rel)
            st = os.lstat(path)
            info = tarfile.TarInfo(rel.replace(os.sep, "/"))
            info.mode = stat.S_IMODE(st.st_mode)
            info.mtime = EPOCH
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif stat.S_ISLNK(st.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
                tar.addfile(info)
            elif stat.S_ISREG(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in hardlinks:
                    info.type = tarfile.LNKTYPE
                    info.linkname = hardlinks[key]
                    tar.addfile(info)
                    continue
                hardlinks[key] = info.name
                info.size = st.st_size
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                raise UsageError(f"--rootfs: {path}: only directories, regular files and "
                                 "symlinks can go into the image")
    return buf.getvalue()


def gzip_bytes(data):
    buf = io.BytesIO()
    # filename="" and mtime=0: the gzip header is the same on every run.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build_blobs(args):
    """Returns (blobs as {digest: bytes}, index.json, manifest.json) for the parsed arguments."""
    reference, version = normalize_reference(args.tag)
    platform = PLATFORMS[args.arch]
    layer = layer_tar(args.rootfs)
    layer_gz = gzip_bytes(layer)

    env = {"PATH": DEFAULT_PATH.split("=", 1)[1]}
    env.update(key_values("--env", args.env))
    container_config = {"Env": [f"{k}={v}" for k, v in env.items()]}
    if args.entrypoint is not None:
        container_config["Entrypoint"] = json_array("--entrypoint", args.entrypoint)
    if args.cmd is not None:
        container_config["Cmd"] = json_array("--cmd", args.cmd)
    if args.workdir:
        container_config["WorkingDir"] = args.workdir
    labels = key_values("--label", args.label)
    if labels:
        container_config["Labels"] = labels
    config = dict(platform)
    config.update({
        "config": container_config,
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        "history": [{"created_by": "scripts/oci_image.py", "comment": f"rootfs of {reference}"}],
    })
    config_json = canonical_json(config)

    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config_json),
                   "size": len(config_json)},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": sha256(layer_gz),
                    "size": len(layer_gz)}],
    }
    if labels:
        manifest["annotations"] = dict(labels)
    manifest_json = canonical_json(manifest)

    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{
            "mediaType": OCI_MANIFEST,
            "digest": sha256(manifest_json),
            "size": len(manifest_json),
            "platform": platform,
            "annotations": {ANNOTATION_CONTAINERD_NAME: reference,
                            ANNOTATION_REF_NAME: version},
        }],
    }
    blob_path = lambda digest: "blobs/sha256/" + digest.split(":", 1)[1]
    docker_manifest = [{
        "Config": blob_path(sha256(config_json)),
        "RepoTags": [docker_repo_tag(reference)],
        "Layers": [blob_path(sha256(layer_gz))],
    }]
    blobs = {sha256(b): b for b in (layer_gz, config_json, manifest_json)}
    return blobs, canonical_json(index), canonical_json(docker_manifest)


def docker_repo_tag(reference):
    """docker.io/library/x:t -> x:t, the short form `docker save` writes in RepoTags."""
    for prefix in ("docker.io/library/", "docker.io/"):
        if reference.startswith(prefix):
            return reference[len(prefix):]
    return reference


def write_archive(out, blobs, index_json, manifest_json):
    def add(tar, name, data=None, directory=False):
        info = tarfile.TarInfo(name)
        info.mtime = EPOCH
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        if directory:
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        else:
            info.mode, info.size = 0o644, len(data)
            tar.addfile(info, io.BytesIO(data))

    tmp = out + ".tmp"
    try:
        with open(tmp, "wb") as f, tarfile.open(fileobj=f, mode="w",
                                                format=tarfile.PAX_FORMAT) as tar:
            add(tar, "blobs", directory=True)
            add(tar, "blobs/sha256", directory=True)
            for digest in sorted(blobs):
                add(tar, "blobs/sha256/" + digest.split(":", 1)[1], blobs[digest])
            add(tar, "index.json", index_json)
            add(tar, "manifest.json", manifest_json)
            add(tar, "oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"}))
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="oci_image.py",
        description="Write a reproducible single-layer OCI image archive (also loadable by "
                    "`podman load` / `docker load`) from a root filesystem directory.")
    p.add_argument("--rootfs", required=True, help="directory that becomes the image's /")
    p.add_argument("--arch", required=True, choices=sorted(PLATFORMS))
    p.add_argument("--tag", required=True, help="NAME:TAG, e.g. splitnet:dev or "
                   "ghcr.io/org/splitnet:1.0 (short names are docker.io/library/NAME)")
    p.add_argument("--entrypoint", help='JSON array, e.g. \'["/splitnet"]\'')
    p.add_argument("--cmd", help='JSON array, e.g. \'["install"]\'')
    p.add_argument("--env", action="append", default=[], metavar="K=V",
                   help="environment variable (repeatable; PATH is always set)")
    p.add_argument("--label", action="append", default=[], metavar="K=V",
                   help="image label (repeatable)")
    p.add_argument("--workdir", help="working directory of the container")
    p.add_argument("--out", required=True, help="the archive to write (FILE.tar)")
    args = p.parse_args(argv)
    if not os.path.isdir(args.rootfs):
        p.error(f"--rootfs {args.rootfs!r}: not a directory")
    return args


def main(argv):
    args = parse_args(argv)
    try:
        blobs, index_json, manifest_json = build_blobs(args)
        write_archive(args.out, blobs, index_json, manifest_json)
    except UsageError as e:
        print(f"oci_image.py: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"oci_image.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
