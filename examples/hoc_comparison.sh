#!/usr/bin/env bash
# The Hallmarks of Cancer comparison, end to end: word2vec vectors trained on the training
# abstracts (word2vec_hoc), then every model with 3 seeds (early stopping and thresholds chosen on
# dev, the test split read once per configuration), then the ablations, two programs at a time
# with one thread each (2 cores). Prints the summary table and the ablation table with the time
# each phase took; every program's full report stays in <out>/<name>.log, its abstention plot in
# <out>/<name>/.
#
#   examples/hoc_comparison.sh [build-dir] [out-dir]      (word2vec + the 3 models: under 30 min)
#   SEEDS=1 examples/hoc_comparison.sh build /tmp/hoc      (a third of the time)
#   ABLATIONS=0 examples/hoc_comparison.sh                 (the main models only)
#   QUICK=1 examples/hoc_comparison.sh build /tmp/hoc      (every program with --quick: a minute)
#   ONLY=kim_cnn,bigru_attention examples/hoc_comparison.sh build /tmp/hoc   (those configurations)
#   REFIT=1 examples/hoc_comparison.sh build /tmp/hoc     (every program also --refit: 1.4-1.6x the time)
# The main models save their predictions (--save-predictions <out>/<name>.npz), and hoc_ensemble
# then averages them into the combinations below (no training of their own: a few seconds each),
# each one run when ONLY selects all of its models.
# The word vectors are trained once per out-dir: a later run of the same kind (full or QUICK)
# into the same folder reuses them (word2vec_hoc is deterministic: they would come out the same
# bit for bit from the same build).
set -euo pipefail
build=${1:-build}
out=${2:-hoc_comparison}
seeds=${SEEDS:-3}
ablations=${ABLATIONS:-1}
quick=${QUICK:+--quick}
refit=${REFIT:+--refit}
only=${ONLY:-}
selected() { [[ -z $only || ",$only," == *",$1,"* ]]; }
bin="$build/examples"
mkdir -p "$out"
start=$(date +%s)

# word2vec.kind names the run that made the vectors (the words' and their n-grams'); it is written
# only once they are complete.
kind="word2vec_hoc ${quick:-full} with subwords"
if [[ -s $out/hoc_word2vec_100d.txt && -s $out/hoc_subwords_100d.txt &&
      $(cat "$out/word2vec.kind" 2> /dev/null) == "$kind" ]]; then
  echo "word2vec: reusing $out/hoc_word2vec_100d.txt and $out/hoc_subwords_100d.txt"
else
  rm -f "$out/word2vec.kind"
  echo "word2vec (skip-gram, negative sampling) on the training abstracts -> $out/hoc_word2vec_100d.txt"
  "$bin/word2vec_hoc" $quick --threads 2 --out "$out" > "$out/word2vec.log"
  echo "$kind" > "$out/word2vec.kind"
fi
grep -A9 '^Nearest' "$out/word2vec.log"
vectors="$out/hoc_word2vec_100d.txt"
subwords="$out/hoc_subwords_100d.txt"

# name | what it shows | command. The main models, the slowest first so that the two slots stay
# busy; the ablations change one thing each. Each main model reads the unseen dev/test words
# spelled from their n-grams (--subwords) or as <unk>, whichever scored higher on dev (docs/hoc.md).
configurations=(
  "transformer|main|$bin/hoc_transformer --embeddings $vectors --subwords $subwords"
  "kim_cnn|main|$bin/hoc_kim_cnn --embeddings $vectors"
  "bigru_max|main|$bin/hoc_recurrent --embeddings $vectors --subwords $subwords"
  "kim_cnn_subwords|ablation: unseen dev/test words spelled from n-grams (Kim CNN)|$bin/hoc_kim_cnn --embeddings $vectors --subwords $subwords"
  "kim_cnn_multichannel|ablation: a static copy of the vectors as more channels (Kim CNN-multichannel)|$bin/hoc_kim_cnn --embeddings $vectors --multichannel"
  "kim_cnn_multichannel_subwords|ablation: both (Kim CNN-multichannel, unseen words spelled)|$bin/hoc_kim_cnn --embeddings $vectors --multichannel --subwords $subwords"
  "kim_cnn_random_embeddings|ablation: random embeddings (Kim CNN)|$bin/hoc_kim_cnn"
  "kim_cnn_no_dropout|ablation: no dropout (Kim CNN)|$bin/hoc_kim_cnn --embeddings $vectors --dropout 0 --embedding-dropout 0"
  "kim_cnn_weight_average|ablation: a moving average of the weights (Kim CNN)|$bin/hoc_kim_cnn --embeddings $vectors --average 0.98"
  "bigru_without_subwords|ablation: unseen dev/test words as <unk> (BiGRU)|$bin/hoc_recurrent --embeddings $vectors"
  "bigru_attention|ablation: attention pooling instead of max (BiGRU)|$bin/hoc_recurrent --embeddings $vectors --subwords $subwords --pooling attention"
  "bigru_naive_dropout|ablation: naive recurrent dropout instead of Zaremba's (BiGRU)|$bin/hoc_recurrent --embeddings $vectors --subwords $subwords --recurrent-dropout naive"
  "bigru_random_embeddings|ablation: random embeddings (BiGRU)|$bin/hoc_recurrent"
  "transformer_without_subwords|ablation: unseen dev/test words as <unk> (Transformer)|$bin/hoc_transformer --embeddings $vectors"
)

# ONLY names configurations of the table above, comma-separated: a typo is an error, not an empty run.
if [[ -n $only ]]; then
  IFS=',' read -ra wanted <<< "$only"
  for name in "${wanted[@]}"; do
    known=0
    for configuration in "${configurations[@]}"; do [[ ${configuration%%|*} == "$name" ]] && known=1; done
    (( known )) || { echo "ONLY: no configuration named '$name'" >&2; exit 2; }
  done
fi

# name | the main models averaged | its name in the table. Model i of a combination is the mean of
# the probabilities of model i (seed i) of each; dev chooses its rule like any model's.
combinations=(
  "kim_cnn_and_bigru|kim_cnn bigru_max|Kim CNN + BiGRU-max"
  "all_three|kim_cnn bigru_max transformer|Kim CNN + BiGRU-max + Transformer"
)
combined() {  # "name|models|title" -> whether each of its models was selected
  local part
  for part in $(cut -d'|' -f2 <<< "$1"); do selected "$part" || return 1; done
}

run_phase() {  # main|ablation: that phase's configurations, two at a time
  local configuration name kind command save
  for configuration in "${configurations[@]}"; do
    IFS='|' read -r name kind command <<< "$configuration"
    if [[ $1 == main && $kind != main ]] || [[ $1 != main && $kind == main ]]; then continue; fi
    selected "$name" || continue
    save=()
    [[ $kind == main ]] && save=(--save-predictions "$out/$name.npz") && rm -f "$out/$name.npz"
    # Two at a time (counting the running jobs: `wait -n` may return at once for a job an earlier
    # `wait` already collected). A program that fails shows as a failed row below.
    while (( $(jobs -rp | wc -l) >= 2 )); do sleep 1; done
    echo "running $name"
    # shellcheck disable=SC2086  # the command is a program and its flags
    $command $quick $refit --seeds "$seeds" --threads 1 --out "$out/$name" ${save[@]+"${save[@]}"} > "$out/$name.log" 2>&1 &
  done
  wait || true
}
run_phase main
combinations_run=0
for combination in "${combinations[@]}"; do
  combined "$combination" || continue
  IFS='|' read -r name parts title <<< "$combination"
  combinations_run=1
  files=()  # a model that failed left no file: hoc_ensemble says so in its log, and its row fails
  for part in $parts; do files+=("$out/$part.npz"); done
  "$bin/hoc_ensemble" $quick --models "${files[@]}" --name "$title" --out "$out/$name" > "$out/$name.log" 2>&1 || true
done
main_elapsed=$(( $(date +%s) - start ))
if (( ablations )); then run_phase ablation; fi
elapsed=$(( $(date +%s) - start ))

row() {  # name -> "| model | dev | test +- sd | prediction | at 1/2 | dev-tuned | seeds averaged | s/epoch | s | refit |"
  local line
  line=$(grep '^summary |' "$out/$1.log") || { echo "| $1 | failed: see $out/$1.log |"; return; }
  awk -F' [|] ' '{ printf "| %s | %s | %s +- %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }' <<< "$line"
}
echo
echo "Hallmarks of Cancer, micro-F1 (mean of $seeds seeds: dev, the chosen rule's cross-fitted score, each half of"
echo "dev labelled at the epochs and thresholds chosen on the other half; test with the rule chosen on dev, then"
echo "with its prediction at the fixed threshold 1/2 and at thresholds tuned on dev, and for the seeds'"
echo "probabilities averaged), training seconds per epoch (one thread) and in all (with the dev evaluation and any"
echo "refit), and with --refit the test micro-F1 of the seeds trained again on train + dev for the epochs dev chose:"
header="| model | dev micro-F1 | test micro-F1 | rule (chosen on dev) | at 1/2 | dev-tuned | seeds averaged | s/epoch | s | refit on train + dev |"
rule="|---|---|---|---|---|---|---|---|---|---|"
echo "$header"
echo "$rule"
compared=()  # the main rows and the combinations run, in the table's order
for configuration in "${configurations[@]}"; do
  IFS='|' read -r name kind _ <<< "$configuration"
  [[ $kind == main ]] && selected "$name" && compared+=("$name")
done
for combination in "${combinations[@]}"; do combined "$combination" && compared+=("${combination%%|*}"); done
for name in "${compared[@]}"; do row "$name"; done
(( combinations_run )) &&
  echo "(the combinations average the main models' predictions: their seconds are those of their models)"
# The best model, chosen on dev like everything else: of those rows, the best cross-fitted dev
# score (ties: the first, the simpler model).
for name in "${compared[@]}"; do grep -h '^summary |' "$out/$name.log" 2> /dev/null || true; done |
  awk -F' [|] ' 'BEGIN { best = -1 }
    $3 + 0 > best { best = $3 + 0; line = sprintf("best model on dev: %s (dev micro-F1 %s), test micro-F1 %s +- %s", $2, $3, $4, $5) }
    END { if (line) print line }'
echo "word2vec, the main models and their combinations: $((main_elapsed / 60)) min $((main_elapsed % 60)) s"
(( ablations )) || exit 0
echo
echo "Ablations (each changes one thing of a main model):"
echo "$header"
echo "$rule"
for configuration in "${configurations[@]}"; do
  IFS='|' read -r name kind _ <<< "$configuration"
  [[ $kind == main ]] || ! selected "$name" || { echo "| *${kind#ablation: }* | | | | | | | | | |"; row "$name"; }
done
echo "the ablations: $(((elapsed - main_elapsed) / 60)) min $(((elapsed - main_elapsed) % 60)) s"
