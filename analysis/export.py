#!/usr/bin/python3
"""Export a sweep's results.h5 as one small, self-contained file: what a study commits beside its
README so that `dcn report` rebuilds the tables and figures without retraining and without the trial
files.

    /usr/bin/python3 analysis/export.py results/celegans-fashion/results.h5 OUT.h5 [--with dag,weights]

The export is results.h5 with every /trials/<id> (an external link to a trial file) replaced by a group
holding the trial file's root attributes and its /metrics (/metrics/steps included), gzip-compressed;
/weights, /buffers and /dag stay out unless --with names them. Why: a trial file of the C. elegans DCN
at 8 channels is 1.1 MB, three quarters of it HDF5 object headers of its ~1,500 weight tensors, so 183
trials are 200 MB; their metrics are a few kB each. Everything else (root attributes, /summary,
/until, ...) is copied as it is. The output is written to OUT.tmp and renamed into place.

Exit status: 0, 1 on an error (a missing trial file is an error naming it: an export that silently
lost trials would rebuild other tables), 2 on a usage error.
"""
import argparse
import os
import sys

import h5py

PARTS = ("dag", "weights", "buffers")


def copy_group(src, dst, name):
    """src[name] into dst[name], datasets gzip-compressed (small ones stay contiguous: a chunk and a
    filter cost more than they save below a few hundred bytes)."""
    g = dst.create_group(name)
    for k, v in src[name].attrs.items():
        g.attrs[k] = v
    for k, obj in src[name].items():
        if isinstance(obj, h5py.Group):
            copy_group(src[name], g, k)
            continue
        data = obj[()]
        big = obj.size * obj.dtype.itemsize > 512 and obj.ndim >= 1
        ds = g.create_dataset(k, data=data, compression="gzip" if big else None, shuffle=big)
        for ak, av in obj.attrs.items():
            ds.attrs[ak] = av


def export(path, out, parts):
    tmp = out + ".tmp"
    with h5py.File(path, "r") as f, h5py.File(tmp, "w", libver=("earliest", "v110")) as o:
        for k, v in f.attrs.items():
            o.attrs[k] = v
        o.attrs["exported_from"] = os.path.abspath(path)
        o.attrs["exported_parts"] = ",".join(["metrics", *parts])
        for k in f:
            if k != "trials":
                f.copy(k, o)
        trials = o.create_group("trials")
        for tid in (f["trials"] if "trials" in f else []):
            link = f["trials"].get(tid, getlink=True)
            try:
                t = f["trials"][tid]
            except (KeyError, OSError) as e:
                target = getattr(link, "filename", "?")
                raise SystemExit(f"export.py: {path}: /trials/{tid}: cannot open its trial file {target}: {e}")
            g = trials.create_group(tid)
            for k, v in t.attrs.items():
                g.attrs[k] = v
            for part in ("metrics", *parts):
                if part in t:
                    copy_group(t, g, part)
    os.replace(tmp, out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="results.h5 of dcn sweep")
    ap.add_argument("out", help="the exported file")
    ap.add_argument("--with", dest="parts", default="", help=f"also copy these parts of each trial: {','.join(PARTS)}")
    a = ap.parse_args(argv)
    parts = [p for p in a.parts.split(",") if p]
    bad = [p for p in parts if p not in PARTS]
    if bad:
        ap.error(f"--with: unknown part {bad[0]!r} (known: {', '.join(PARTS)})")
    if os.path.abspath(a.results) == os.path.abspath(a.out):
        ap.error("the export must not overwrite its input")
    try:
        export(a.results, a.out, parts)
    except OSError as e:
        print(f"export.py: {a.results}: {e}", file=sys.stderr)
        return 1
    print(f"export.py: wrote {a.out} ({os.path.getsize(a.out) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
