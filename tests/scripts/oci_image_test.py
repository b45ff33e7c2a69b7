#!/usr/bin/env python3
"""Unit tests of scripts/oci_image.py (no root): the archive's layout and digests, the config,
reproducibility, image names and usage errors. `ctr image import` of its output is exercised by
tests/e2e/test_containerd.sh."""

import gzip
import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                      "oci_image.py")
spec = importlib.util.spec_from_file_location("oci_image", SCRIPT)
oci_image = importlib.util.module_from_spec(spec)
spec.loader.exec_module(oci_image)


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Archive:
    """An archive read back: its members by name."""

    def __init__(self, path):
        with tarfile.open(path) as tar:
            self.members = {m.name: m for m in tar.getmembers()}
            self.data = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
        self.index = json.loads(self.data["index.json"])
        self.descriptor = self.index["manifests"][0]
        self.manifest = json.loads(self.blob(self.descriptor["digest"]))
        self.config = json.loads(self.blob(self.manifest["config"]["digest"]))
        self.layer_gz = self.blob(self.manifest["layers"][0]["digest"])
        self.layer = gzip.decompress(self.layer_gz)

    def blob(self, digest):
        return self.data["blobs/sha256/" + digest.split(":", 1)[1]]

    def layer_members(self):
        with tarfile.open(fileobj=io.BytesIO(self.layer)) as tar:
            return tar.getmembers()


class OciImageTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.rootfs = os.path.join(self.tmp.name, "rootfs")
        os.makedirs(os.path.join(self.rootfs, "bin"))
        os.makedirs(os.path.join(self.rootfs, "etc", "b"))
        os.makedirs(os.path.join(self.rootfs, "etc", "a"))
        with open(os.path.join(self.rootfs, "bin", "tool"), "wb") as f:
            f.write(b"\x7fELF not really")
        os.chmod(os.path.join(self.rootfs, "bin", "tool"), 0o755)
        with open(os.path.join(self.rootfs, "etc", "a", "conf"), "w") as f:
            f.write("x=1\n")
        os.chmod(os.path.join(self.rootfs, "etc", "a", "conf"), 0o600)
        os.symlink("tool", os.path.join(self.rootfs, "bin", "sh"))

    def build(self, *extra, out="img.tar", arch="amd64", tag="splitnet:dev"):
        path = os.path.join(self.tmp.name, out)
        r = run("--rootfs", self.rootfs, "--arch", arch, "--tag", tag, "--out", path, *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return path

    def test_layout_and_digests(self):
        a = Archive(self.build())
        self.assertEqual(json.loads(a.data["oci-layout"]), {"imageLayoutVersion": "1.0.0"})
        for name, data in a.data.items():
            if name.startswith("blobs/sha256/"):
                self.assertEqual(name.rsplit("/", 1)[1], hashlib.sha256(data).hexdigest(), name)
        self.assertEqual(a.descriptor["size"], len(a.blob(a.descriptor["digest"])))
        self.assertEqual(a.manifest["config"]["size"], len(a.blob(a.manifest["config"]["digest"])))
        self.assertEqual(a.manifest["layers"][0]["size"], len(a.layer_gz))
        self.assertEqual(a.manifest["layers"][0]["mediaType"],
                         "application/vnd.oci.image.layer.v1.tar+gzip")
        self.assertEqual(a.config["rootfs"], {"type": "layers", "diff_ids": [digest_of(a.layer)]})
        docker = json.loads(a.data["manifest.json"])
        self.assertEqual(docker, [{
            "Config": "blobs/sha256/" + a.manifest["config"]["digest"].split(":")[1],
            "RepoTags": ["splitnet:dev"],
            "Layers": ["blobs/sha256/" + a.manifest["layers"][0]["digest"].split(":")[1]],
        }])

    def test_layer_is_normalised_and_sorted(self):
        a = Archive(self.build())
        members = a.layer_members()
        self.assertEqual([m.name for m in members],
                         ["bin", "bin/sh", "bin/tool", "etc", "etc/a", "etc/a/conf", "etc/b"])
        for m in members:
            self.assertEqual((m.uid, m.gid, m.uname, m.gname, m.mtime), (0, 0, "", "", 0), m.name)
        by_name = {m.name: m for m in members}
        self.assertTrue(by_name["bin/sh"].issym())
        self.assertEqual(by_name["bin/sh"].linkname, "tool")
        self.assertEqual(by_name["bin/tool"].mode, 0o755)
        self.assertEqual(by_name["etc/a/conf"].mode, 0o600)
        self.assertEqual(a.layer_gz[4:8], b"\0\0\0\0", "gzip header mtime is 0")

    def test_reproducible_across_mtimes(self):
        first = self.build(out="1.tar")
        os.utime(os.path.join(self.rootfs, "bin", "tool"), (12345, 12345))
        second = self.build(out="2.tar")
        with open(first, "rb") as f1, open(second, "rb") as f2:
            self.assertEqual(f1.read(), f2.read())

    def test_content_changes_the_digest(self):
        first = Archive(self.build(out="1.tar"))
        with open(os.path.join(self.rootfs, "etc", "a", "conf"), "w") as f:
            f.write("x=2\n")
        second = Archive(self.build(out="2.tar"))
        self.assertNotEqual(first.descriptor["digest"], second.descriptor["digest"])

    def test_config_and_names(self):
        a = Archive(self.build("--entrypoint", '["/splitnet"]', "--cmd", '["install", "--help"]',
                               "--label", "org.opencontainers.image.version=1.2.3",
                               "--label", "a=b=c", "--env", "X=1", arch="arm64",
                               tag="ghcr.io/acme/splitnet:1.2.3"))
        self.assertEqual((a.config["architecture"], a.config["os"], a.config["variant"]),
                         ("arm64", "linux", "v8"))
        self.assertEqual(a.descriptor["platform"],
                         {"architecture": "arm64", "os": "linux", "variant": "v8"})
        c = a.config["config"]
        self.assertEqual(c["Entrypoint"], ["/splitnet"])
        self.assertEqual(c["Cmd"], ["install", "--help"])
        self.assertEqual(c["Labels"], {"org.opencontainers.image.version": "1.2.3", "a": "b=c"})
        self.assertEqual(c["Env"][0].split("=", 1)[0], "PATH")
        self.assertIn("X=1", c["Env"])
        self.assertNotIn("created", a.config)
        self.assertEqual(a.descriptor["annotations"], {
            "io.containerd.image.name": "ghcr.io/acme/splitnet:1.2.3",
            "org.opencontainers.image.ref.name": "1.2.3"})
        self.assertEqual(json.loads(a.data["manifest.json"])[0]["RepoTags"],
                         ["ghcr.io/acme/splitnet:1.2.3"])

    def test_amd64_has_no_variant(self):
        a = Archive(self.build())
        self.assertEqual(a.descriptor["platform"], {"architecture": "amd64", "os": "linux"})
        self.assertNotIn("Entrypoint", a.config["config"])

    def test_normalize_reference(self):
        n = oci_image.normalize_reference
        self.assertEqual(n("splitnet:dev"), ("docker.io/library/splitnet:dev", "dev"))
        self.assertEqual(n("splitnet"), ("docker.io/library/splitnet:latest", "latest"))
        self.assertEqual(n("acme/splitnet:1"), ("docker.io/acme/splitnet:1", "1"))
        self.assertEqual(n("localhost:5000/splitnet"), ("localhost:5000/splitnet:latest", "latest"))
        self.assertEqual(n("localhost/splitnet:x"), ("localhost/splitnet:x", "x"))
        self.assertEqual(n("ghcr.io/a/b:c"), ("ghcr.io/a/b:c", "c"))
        for bad in ("splitnet@sha256:00", "Splitnet:1", ":1", "splitnet:"):
            with self.assertRaises(oci_image.UsageError, msg=bad):
                n(bad)

    def test_usage_errors_exit_2_and_write_nothing(self):
        out = os.path.join(self.tmp.name, "bad.tar")
        cases = [
            ["--cmd", "not json"],
            ["--cmd", '{"a": 1}'],
            ["--entrypoint", '["/x", 1]'],
            ["--label", "novalue"],
            ["--tag", "Upper:case"],
        ]
        for extra in cases:
            args = ["--rootfs", self.rootfs, "--arch", "amd64", "--tag", "splitnet:dev",
                    "--out", out] + extra
            # (argparse: the last --tag wins)
            r = run(*args)
            self.assertEqual(r.returncode, 2, extra)
            self.assertIn("oci_image.py", r.stderr)
            self.assertFalse(os.path.exists(out), extra)
            self.assertEqual(os.listdir(self.tmp.name), ["rootfs"], extra)
        r = run("--rootfs", self.rootfs, "--arch", "s390x", "--tag", "a:b", "--out", out)
        self.assertEqual(r.returncode, 2)
        r = run("--rootfs", os.path.join(self.tmp.name, "missing"), "--arch", "amd64",
                "--tag", "a:b", "--out", out)
        self.assertEqual(r.returncode, 2)

    def test_special_files_are_refused(self):
        os.mkfifo(os.path.join(self.rootfs, "etc", "fifo"))
        out = os.path.join(self.tmp.name, "bad.tar")
        r = run("--rootfs", self.rootfs, "--arch", "amd64", "--tag", "a:b", "--out", out)
        self.assertEqual(r.returncode, 2)
        self.assertIn("etc/fifo", r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_hardlinks_are_stored_once(self):
        os.link(os.path.join(self.rootfs, "bin", "tool"), os.path.join(self.rootfs, "bin", "tool2"))
        members = {m.name: m for m in Archive(self.build()).layer_members()}
        self.assertTrue(members["bin/tool2"].islnk())
        self.assertEqual(members["bin/tool2"].linkname, "bin/tool")


if __name__ == "__main__":
    unittest.main()
