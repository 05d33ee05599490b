"""Print each finished run's nDCG@10 per system, its latencies and its cost table, for the
write-ups (evaluation/studies/14-rankers_and_embedders.md):
    .venv/bin/python evaluation/summarize_runs.py runs/scifact-ce-student runs/scifact-embed-asym ...
"""

import json
import sys
from pathlib import Path

for folder in sys.argv[1:]:
    done = Path(folder) / "stages" / "evaluate" / "done.json"
    if not done.is_file():
        print(f"## {folder}: not finished\n")
        continue
    summary = json.loads(done.read_text())["summary"]
    print(f"## {folder}")
    for name, data in summary["datasets"].items():
        for system, values in data["systems"].items():
            print(
                f"  {name} | {system} | nDCG@10 {values['metrics']['nDCG@10']:.4f} | R@100 {values['metrics'].get('R@100', float('nan')):.4f}"
            )
        for what, ms in (data.get("latency") or {}).items():
            print(f"  {name} | latency | {what} | {ms:.1f} ms")
        if data.get("teacher_student_kendall_tau") is not None:
            print(f"  {name} | teacher-student tau {data['teacher_student_kendall_tau']:.3f}")
    for role, size in (summary.get("cost") or {}).items():
        print(
            f"  cost | {role} | {size['parameters'] / 1e6:.1f} M params | {size['megabytes']:.1f} MB"
        )
    record_file = Path(folder) / "stages" / "train" / "student" / "rankdistill_train.json"
    if record_file.is_file():  # the dev curve and the training loss, where the run kept them
        record = json.loads(record_file.read_text())
        for point in (record.get("dev") or {}).get("curve", []):
            print(
                f"  dev | step {point['step']} | "
                + " | ".join(f"{k} {v:.4f}" for k, v in point.items() if k != "step")
            )
        curve = record.get("loss_curve") or []
        if curve:
            print(
                "  train loss | "
                + " ".join(
                    f"{step}:{loss:.3f}" for step, loss in curve[:: max(1, len(curve) // 12)]
                )
            )
    stages = sorted((Path(folder) / "stages").glob("*/done.json"))
    for stage in stages:
        record = json.loads(stage.read_text())
        print(
            f"  stage {stage.parent.name}: {record.get('seconds', 0):.0f} s, peak {record.get('peak_rss_mb')} MB"
        )
    print()
