#!/usr/bin/env bash
# The field evaluation of issue 12: README.md's "From a fresh machine to
# reviewing real photos" flow, end to end through the CLI, measured.
#
#   scripts/field-eval.sh [SAMPLE_DIR] [-- extra `whaleid train` options]
#
# SAMPLE_DIR (default ../shared/data/happywhale-sample) holds images/ and
# labels.csv. Every other labelled photo makes a catalogue (imported as
# confirmed identifications, whole photos), `catalogue calibrate` chooses the
# new-individual threshold, and the other photos, all of individuals already
# in the catalogue, are identified against it (`identify --json`). Then
# `whaleid train` (default options, plus any given after --) fine-tunes the
# catalogue's pack and the same photos are identified again. Printed:
#   - the share of these known animals given new_individual first;
#   - ranked MAP@5 and top-1 (the ranked individuals, new_individual ignored);
#   - MAP@5 with new_individual counted as the Kaggle metric does;
# and `whaleid eval` on the whole sample (which holds out individuals, so it
# measures new-individual precision and recall) with the pack before and
# after training. Nothing is written outside a temporary folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sample="$root/../shared/data/happywhale-sample"
if [[ $# -gt 0 && $1 != -- ]]; then
    sample="$1"
    shift
fi
[[ ${1:-} == -- ]] && shift
train_args=("$@")
[[ -f $sample/labels.csv && -d $sample/images ]] || {
    echo "field-eval: $sample must hold labels.csv and images/" >&2
    exit 1
}
sample="$(cd "$sample" && pwd)"

cd "$root"
cargo build --release --locked --bin whaleid >&2
whaleid="${CARGO_TARGET_DIR:-$root/target}/release/whaleid"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

awk 'NR == 1 || NR % 2 == 0' "$sample/labels.csv" >"$work/catalogue.csv"
awk 'NR == 1 || NR % 2 == 1' "$sample/labels.csv" >"$work/survey.csv"
cat="$work/catalogue"
"$whaleid" catalogue import "$cat" --labels "$work/catalogue.csv" --images "$sample/images" --no-boxes >&2
"$whaleid" catalogue calibrate "$cat" >"$work/calibrate.txt"
grep -E '^(calibrated|  expected|  share)' "$work/calibrate.txt" || true

mapfile -t photos < <(tail -n +2 "$work/survey.csv" | cut -d, -f1 | sed "s|^|$sample/images/|")

# Ranked and Kaggle metrics of identify's JSON lines against the labels.
score() {
    python3 - "$work/survey.csv" "$1" "$2" <<'EOF'
import csv, json, sys
truth = {r["image"]: r["individual_id"] for r in csv.DictReader(open(sys.argv[1]))}
rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
rows = [r for r in rows if "top5" in r]
def ap5(preds, want):
    for i, p in enumerate(preds[:5]):
        if p == want:
            return 1.0 / (i + 1)
    return 0.0
n = len(rows)
new_first = ranked_map = top1 = kaggle_map = 0.0
for r in rows:
    want = truth[r["file"].rsplit("/", 1)[-1]]
    names = [p["individual"] for p in r["top5"]]
    ranked = [x for x in names if x != "new_individual"]
    new_first += names[0] == "new_individual"
    ranked_map += ap5(ranked, want)
    top1 += bool(ranked) and ranked[0] == want
    kaggle_map += ap5(names, want)
print(f"| {sys.argv[3]} | {n} | {new_first / n:.3f} ({int(new_first)}/{n}) | {ranked_map / n:.4f} | {top1 / n:.4f} | {kaggle_map / n:.4f} | {rows[0]['threshold']:.2f} |")
EOF
}

echo
echo "| catalogue | known photos | new_individual first | ranked MAP@5 | top-1 | MAP@5 with new_individual | threshold |"
echo "|---|---:|---:|---:|---:|---:|---:|"
"$whaleid" identify "${photos[@]}" -c "$cat" --whole --json >"$work/before.jsonl"
score "$work/before.jsonl" "frozen pack"
"$whaleid" train -c "$cat" "${train_args[@]}" >"$work/train.txt" 2>&1 || {
    cat "$work/train.txt" >&2
    exit 1
}
"$whaleid" identify "${photos[@]}" -c "$cat" --whole --json >"$work/after.jsonl"
score "$work/after.jsonl" "after whaleid train ${train_args[*]}"
echo
# train's report, without its progress lines.
grep -vE '^[A-Z][a-z]+: [0-9]+/[0-9]+|epoch +[0-9]+/[0-9]+' "$work/train.txt" || true

# whaleid eval holds individuals out, so new-individual precision and recall
# are measured there; the trained pack is the catalogue's active one.
trained="$(find "$cat/packs" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort | tail -n 1)"
echo
echo "whaleid eval, generic pack:"
"$whaleid" eval --labels "$sample/labels.csv" --images "$sample/images" --no-boxes | sed -n '/calibrated on the gallery/,$p'
if [[ -n $trained ]]; then
    echo
    echo "whaleid eval, the trained pack ($(basename "$trained")):"
    "$whaleid" eval --labels "$sample/labels.csv" --images "$sample/images" --no-boxes --pack "$trained" \
        | sed -n '/calibrated on the gallery/,$p'
fi
