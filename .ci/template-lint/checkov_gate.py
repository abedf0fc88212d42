"""Fails on any checkov finding not accepted in checkov-skips.txt; reports skips that no longer match.

Each skip names its resources (a comma-separated list of <type>.<logical id>, a trailing * for the
hash CDK appends), so a new resource of the same type is never hidden by an old reason.

usage: python checkov_gate.py CHECKOV_JSON SKIPS_FILE
"""

import fnmatch
import json
import sys


def load_skips(path):
    skips = []
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or not parts[2].strip():
            sys.exit(f"{path}:{number}: expected CHECK_ID RESOURCE reason")
        for resource in parts[1].split(","):
            # A skip names resources: <type>.<logical id prefix>*, never a whole type.
            type_name, _, logical_id = resource.partition(".")
            if not type_name.startswith("AWS::") or not logical_id.rstrip("*"):
                sys.exit(f"{path}:{number}: {resource}: name a resource (<type>.<logical id>[*]), not a whole type")
            skips.append({"check": parts[0], "resource": resource, "used": False})
    return skips


def main(report_path, skips_path):
    report = json.load(open(report_path, encoding="utf-8"))
    reports = report if isinstance(report, list) else [report]
    skips = load_skips(skips_path)
    new = []
    for one in reports:
        for finding in one.get("results", {}).get("failed_checks", []):
            accepted = [
                s
                for s in skips
                if s["check"] == finding["check_id"] and fnmatch.fnmatchcase(finding["resource"], s["resource"])
            ]
            for skip in accepted:
                skip["used"] = True
            if not accepted:
                new.append(
                    f"{finding['check_id']} {finding['resource']} ({finding['file_path']}): {finding['check_name']}"
                )
    for skip in skips:
        if not skip["used"]:
            print(f"checkov: skip no longer needed: {skip['check']} {skip['resource']}")
    if new:
        print("checkov: findings not fixed nor accepted in .ci/template-lint/checkov-skips.txt:")
        print("\n".join(f"  {line}" for line in new))
        return 1
    passed = sum(one.get("summary", {}).get("passed", 0) for one in reports)
    print(f"checkov: no new finding ({passed} checks passed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
