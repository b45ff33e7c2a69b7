#!/usr/bin/env python3
"""Checks an image archive of scripts/image.sh against the OCI image layout, independently of
scripts/oci_image.py (python3 stdlib only):

    tests/testutil/oci_archive_check.py ARCHIVE.tar --arch amd64|arm64 [--extract PATH]

- oci-layout and index.json: one manifest, with its platform and a containerd image name;
- every blob's sha256 and size match the descriptor that names it (manifest, config, layer);
- the config: os linux, the architecture, entrypoint ["/splitnet"], cmd ["install"], the
  org.opencontainers.image.* labels, and diff_ids = sha256 of the uncompressed layer;
- manifest.json (the Docker form that `podman load` reads) names the same config and layer;
- the layer holds exactly one file, /splitnet: mode 0755, owned by root, a static ELF for the
  architecture (no PT_INTERP, no PT_DYNAMIC); --extract writes it out, to be run.

Prints one line per check; exits 1 with the first failure.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import struct
import sys
import tarfile

ELF_MACHINE = {"amd64": 62, "arm64": 183}  # EM_X86_64, EM_AARCH64
PT_DYNAMIC, PT_INTERP = 2, 3
LABELS = ("version", "revision", "source", "licenses", "created", "title")


class CheckFailed(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise CheckFailed(what)
    print(f"ok: {what}")


def elf_facts(data):
    """(e_machine, program header types) of a 64-bit little-endian ELF file."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise CheckFailed("/splitnet is not a 64-bit little-endian ELF file")
    (machine,) = struct.unpack_from("<H", data, 18)
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    types = [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)]
    return machine, types


def check(archive, arch, extract):
    with tarfile.open(archive) as outer:
        files = {m.name: outer.extractfile(m).read() for m in outer.getmembers() if m.isfile()}

    def blob(descriptor, what):
        digest = descriptor["digest"]
        algo, _, hexdigest = digest.partition(":")
        expect(algo == "sha256", f"{what}: sha256 digest")
        data = files.get("blobs/sha256/" + hexdigest)
        expect(data is not None, f"{what}: blob {hexdigest[:12]} present")
        expect(hashlib.sha256(data).hexdigest() == hexdigest, f"{what}: digest verified")
        expect(len(data) == descriptor["size"], f"{what}: size {descriptor['size']} verified")
        return data

    layout = json.loads(files["oci-layout"])
    expect(layout.get("imageLayoutVersion") == "1.0.0", "oci-layout version 1.0.0")
    index = json.loads(files["index.json"])
    expect(index.get("schemaVersion") == 2 and len(index.get("manifests", [])) == 1,
           "index.json: schema 2, one manifest")
    entry = index["manifests"][0]
    expect(entry.get("platform", {}).get("architecture") == arch
           and entry["platform"].get("os") == "linux", f"index.json: platform linux/{arch}")
    name = entry.get("annotations", {}).get("io.containerd.image.name", "")
    expect(":" in name.rsplit("/", 1)[-1], f"index.json: image name {name}")

    manifest = json.loads(blob(entry, "manifest"))
    expect(manifest.get("mediaType") == "application/vnd.oci.image.manifest.v1+json",
           "manifest: OCI media type")
    config = json.loads(blob(manifest["config"], "config"))
    expect(len(manifest.get("layers", [])) == 1, "manifest: one layer")
    layer_gz = blob(manifest["layers"][0], "layer")
    layer = gzip.decompress(layer_gz)

    expect(config.get("os") == "linux" and config.get("architecture") == arch,
           f"config: linux/{arch}")
    cc = config.get("config", {})
    expect(cc.get("Entrypoint") == ["/splitnet"], "config: entrypoint [\"/splitnet\"]")
    expect(cc.get("Cmd") == ["install"], "config: cmd [\"install\"]")
    labels = cc.get("Labels", {})
    for key in LABELS:
        expect(labels.get(f"org.opencontainers.image.{key}"),
               f"config: label org.opencontainers.image.{key}")
    diff_ids = config.get("rootfs", {}).get("diff_ids", [])
    expect(diff_ids == ["sha256:" + hashlib.sha256(layer).hexdigest()],
           "config: diff_id = sha256 of the uncompressed layer")

    docker = json.loads(files["manifest.json"])
    expect(len(docker) == 1
           and docker[0]["Config"] == "blobs/sha256/" + manifest["config"]["digest"][7:]
           and docker[0]["Layers"] == ["blobs/sha256/" + manifest["layers"][0]["digest"][7:]]
           and docker[0].get("RepoTags"), "manifest.json: same config and layer, a RepoTag")

    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        members = tar.getmembers()
        expect([m.name for m in members] == ["splitnet"],
               "layer: exactly one entry, splitnet (FROM scratch)")
        m = members[0]
        expect(m.isfile() and m.mode == 0o755 and m.uid == 0 and m.gid == 0,
               "layer: /splitnet is a regular file, 0755, root")
        data = tar.extractfile(m).read()
    machine, types = elf_facts(data)
    expect(machine == ELF_MACHINE[arch], f"/splitnet: ELF machine {machine} is {arch}")
    expect(PT_INTERP not in types and PT_DYNAMIC not in types,
           "/splitnet: statically linked (no interpreter, no dynamic section)")
    if extract:
        with open(extract, "wb") as f:
            f.write(data)
        os.chmod(extract, 0o755)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("archive")
    p.add_argument("--arch", required=True, choices=sorted(ELF_MACHINE))
    p.add_argument("--extract", metavar="PATH", help="write the image's /splitnet to PATH")
    args = p.parse_args()
    try:
        check(args.archive, args.arch, args.extract)
    except (CheckFailed, KeyError, ValueError, tarfile.TarError, OSError) as e:
        print(f"FAIL: {args.archive}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"{args.archive}: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
