"""The comparison as Markdown: the counts per observable, then each step with
its values side by side (memory blocks that agree are counted, not listed:
48 blocks x 5 files per dump; report.json has every row)."""

import json

_SUMMARISED = ("memory blocks", "valid_zones")


def report_json(report):
    """report.json: the summary indented, then one line per compared value
    (a diff between two runs shows the values that changed)."""
    head = {k: v for k, v in report.items() if k != "steps"}
    out = [json.dumps(head, indent=1)[:-2] + ',\n "steps": [']
    steps = []
    for s in report["steps"]:
        rows = ",\n".join("   " + json.dumps(r, separators=(",", ":"))
                          for r in s["rows"])
        steps.append(f'  {{"step": {json.dumps(s["step"])}, "kernel_log": '
                     f'{json.dumps(s["kernel_log"])},\n   "rows": [\n{rows}]}}')
    out.append(",\n".join(steps))
    out.append(" ]\n}\n")
    return "\n".join(out)


def _cell(v):
    text = json.dumps(v, separators=(",", ":")) if not isinstance(v, str) \
        else v
    return text.replace("|", "\\|")


def _verdict(r):
    return {"agree": "agree", "differ": "**DIFFER**",
            "explained": "explained"}[r["verdict"]]


def render_markdown(report, title=None):
    strat = report["strategy"]
    kernel = report.get("kernel", {})
    lines = [f"# {title or 'Kernel check'}: {report['workload']} on "
             f"{report['topology']}", ""]
    lines.append(f"slabsim strategy `{strat['name']}` ({strat['kernel']}, "
                 f"{strat['commit']}) against Linux "
                 f"{kernel.get('release', '?')} (Debian "
                 f"{kernel.get('abi', '?')}) under QEMU.")
    lines.append("")
    if report.get("error"):
        lines += [f"**The guest run failed:** {report['error']}", ""]
    t = report["total"]
    lines.append(f"**{t['agree']} agree, {t['explained']} differ with an "
                 f"explanation, {t['differ']} differ unexplained.**")
    lines += ["", "| observable | agree | explained | differ | compared |",
              "|---|---:|---:|---:|---|"]
    for name, c in report["counts"].items():
        lines.append(f"| {name} | {c['agree']} | {c['explained']} | "
                     f"{c['differ']} | {report['observables'][name]} |")
    lines += ["", "Not compared:", ""]
    for name, why in report["not_compared"].items():
        lines.append(f"- {name}: {why}")
    explained = {}
    for s in report["steps"]:
        for r in s["rows"]:
            if r["verdict"] == "explained":
                explained.setdefault(r["why"], []).append(r["key"])
    if explained:
        lines += ["", "## Explained differences", ""]
        for why, keys in explained.items():
            lines.append(f"- {len(keys)} value{'s' if len(keys) > 1 else ''} "
                         f"(e.g. `{keys[0]}`): {why}")
    lines += ["", "## Step by step", ""]
    for s in report["steps"]:
        lines += [f"### {s['step']}", ""]
        summarised = {}
        shown = []
        for r in s["rows"]:
            if r["observable"] in _SUMMARISED and r["verdict"] == "agree":
                summarised[r["observable"]] = summarised.get(
                    r["observable"], 0) + 1
            else:
                shown.append(r)
        if shown:
            lines += ["| observable | key | slabsim | kernel | |",
                      "|---|---|---|---|---|"]
            for r in shown:
                lines.append(f"| {r['observable']} | `{r['key']}` | "
                             f"{_cell(r['model'])} | {_cell(r['guest'])} | "
                             f"{_verdict(r)} |")
        if summarised:
            lines.append("")
            lines.append("Agreeing and not listed: " + ", ".join(
                f"{n} {k}" for k, n in summarised.items()) + ".")
        glog = s["kernel_log"]["guest"]
        mlog = s["kernel_log"]["model"]
        if glog or mlog:
            lines += ["", "Kernel log: kernel " +
                      ("; ".join(f"`{x.strip()}`" for x in glog) or "none") +
                      "; slabsim " +
                      ("; ".join(f"`{x.strip()}`" for x in mlog) or "none") +
                      "."]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
