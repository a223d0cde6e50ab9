#!/usr/bin/env python3
"""Writes fuzz/seeds/<target>/ from shared/testvectors/: a few valid (and
some near-valid) inputs per target. Run from anywhere:

    python3 fuzz/seed.py [path/to/testvectors]

The seeds are committed; rerun this only when the vectors change.
"""

import base64
import hashlib
import json
import pathlib
import shutil
import struct
import sys

HERE = pathlib.Path(__file__).resolve().parent
VECTORS = pathlib.Path(
    sys.argv[1] if len(sys.argv) > 1 else HERE.parent.parent / "shared" / "testvectors"
)
if not VECTORS.is_dir():
    VECTORS = HERE.parent / "shared" / "testvectors"
SEEDS = HERE / "seeds"


def load(path):
    return json.loads((VECTORS / path).read_text(encoding="utf-8"))


seeds = {}


def add(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    seeds.setdefault(target, set()).add(bytes(data))


records = load("lucent/records.json")
log = load("lucent/log.json")
notes = load("note/signed_notes.json")
checkpoints = load("note/checkpoint.json")
keys = load("note/keys.json")
paths = load("tiles/paths.json")

# report: valid bodies, and the invalid ones (each a near miss).
for v in records["valid"]:
    add("report", v["body"])
for v in records["invalid"][:20]:
    if isinstance(v.get("body"), str):
        add("report", v["body"])
for r in log["reports"]:
    add("report", r["body"])

# entry: entry bytes and record bytes.
for e in log["entries"]:
    add("entry", e["entry"])
for v in records["valid"]:
    add("entry", v["record"])

# note: messages to open, and signed notes.
for v in notes["open"]:
    add("note", v["msg"] if "msg" in v else bytes.fromhex(v["msg_hex"]))
for v in notes["sign"]:
    add("note", v["signed"])
for r in log["roots"][:2]:
    add("note", r["signed_checkpoint"])

# keys: verifier and private keys, valid and not.
for k in keys["ed25519_key_pairs"]:
    add("keys", k["vkey"])
    add("keys", k["skey"])
for k in keys["verifier_keys"]:
    add("keys", k["vkey"])
for k in keys["invalid_verifier_keys"]:
    add("keys", k["vkey"])
for k in keys["invalid_signer_keys"]:
    add("keys", k["skey"])
add("keys", log["key"]["verifier_key"])
add("keys", log["key"]["private_key"])

# checkpoint: checkpoint texts (valid, with extension lines, invalid) and
# signed checkpoints.
for group in ("valid", "extension_lines", "invalid"):
    for v in checkpoints[group]:
        add("checkpoint", v["text"])
for v in checkpoints["signed"]:
    add("checkpoint", v["signed_note"])
for r in log["roots"]:
    add("checkpoint", r["checkpoint_text"])
    add("checkpoint", r["signed_checkpoint"])

# promise: promise texts and signed promises.
for r in log["reports"]:
    add("promise", r["promise_text"])
    add("promise", r["promise"])

# tlog_proof: the receipts of the log.
for e in log["entries"]:
    add("tlog_proof", e["tlog_proof"])

# tile_path: paths of every kind, and the invalid ones.
for size in paths["tree_sizes"][:4]:
    for p in size["tiles_derived"][:3] + size["tiles_derived"][-3:]:
        add("tile_path", p if isinstance(p, str) else p["path"])
    for p in size["entry_bundles_derived"][-2:]:
        add("tile_path", p if isinstance(p, str) else p["path"])
for v in paths["invalid_paths_derived"]:
    add("tile_path", v["path"])
ref = paths["reference_tree_as_tiles_derived"]
add("tile_path", ref["tile_path"])
add("tile_path", ref["entry_bundle_path"])
for t in log["tiles"]:
    add("tile_path", t["path"])

# tile_data: hash tiles and entry bundles.
add("tile_data", bytes.fromhex(ref["tile_hex"]))
add("tile_data", bytes.fromhex(ref["entry_bundle_hex"]))
for t in log["tiles"]:
    add("tile_data", base64.b64decode(t["data_b64"]))
# tree size 8, then the reference tree's leaf hashes: root_from_tiles input.
add("tile_data", struct.pack("<Q", ref["tree_size"]) + bytes.fromhex(ref["tile_hex"]))

# merkle_proof: the happy-path inclusion and consistency probes.
def b64(h):
    return base64.b64decode(h) if h else b""


for folder in sorted((VECTORS / "merkle" / "inclusion").iterdir()):
    happy = folder / "happy-path.json"
    if happy.is_file():
        p = json.loads(happy.read_text())
        data = struct.pack("<QQQ", p["leafIdx"], p["treeSize"], p["treeSize"])
        data += b64(p["leafHash"]) + b64(p["root"]) + b"".join(b64(h) for h in p["proof"] or [])
        add("merkle_proof", data)
for folder in sorted((VECTORS / "merkle" / "consistency").iterdir()):
    happy = folder / "happy-path.json"
    if happy.is_file():
        p = json.loads(happy.read_text())
        root1, root2 = b64(p["root1"]), b64(p["root2"])
        if len(root1) != 32 or len(root2) != 32:
            continue
        data = struct.pack("<QQQ", p["size1"], p["size1"], p["size2"])
        data += root1 + root2 + b"".join(b64(h) for h in p["proof"] or [])
        add("merkle_proof", data)

# Inputs that once crashed a target (minimised), kept among its seeds so
# that the CI smoke run replays them; core/tests/fuzz_regressions.rs has the
# matching tests.
# merkle_proof: index 2 in a tree of 0xffffffff00010000 leaves, no proof.
add("merkle_proof", struct.pack("<QQQ", 2, 0xFFFFFFFF00010000, 0xFFFFFF))

if SEEDS.exists():
    shutil.rmtree(SEEDS)
for target, inputs in sorted(seeds.items()):
    folder = SEEDS / target
    folder.mkdir(parents=True)
    for data in sorted(inputs):
        # libFuzzer names corpus files by SHA-1; do the same.
        (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
    print(f"{target}: {len(inputs)} seeds")
