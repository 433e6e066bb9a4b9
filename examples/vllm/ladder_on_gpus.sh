#!/usr/bin/env bash
# The adaptation ladder on a GPU machine: train with `accelerate launch`, serve base model and
# adapters with vLLM, and measure every rung through the endpoint — the model you will deploy,
# served the way you will deploy it. Run from the repository root; edit the variables first.
#
#   bash examples/vllm/ladder_on_gpus.sh
#
# Needs: adaptlab, vllm and accelerate installed; a local Hugging Face model directory (adaptlab
# never downloads weights at run time: fetch it once with `hf download`).
set -euo pipefail

MODEL_DIR=${MODEL_DIR:-./models/Qwen2.5-1.5B-Instruct}   # base model, a local HF directory
TASK=${TASK:-tweet-sentiment}                          # bundled task name or your JSONL/CSV
SIZES=${SIZES:-100,400,1600}                           # learning-curve sizes
ACCELERATE_CONFIG=${ACCELERATE_CONFIG:-examples/accelerate/ddp_gpus.yaml}
PORT=${PORT:-8000}
RUNS=${RUNS:-runs}

# 1. Learning curve: LoRA at each size, data-parallel over the machine's GPUs (rank 0 evaluates).
accelerate launch --config_file "$ACCELERATE_CONFIG" -m adaptlab tune "$TASK" \
    --model "$MODEL_DIR" --sizes "$SIZES" --out "$RUNS"
RUN_ID=$(ls -1 "$RUNS" | grep -E '^[0-9]{8}-' | tail -n 1)

# 2. Export every tuned rung as a PEFT adapter vLLM can load.
LORA_MODULES=()
for rung in $(python - "$RUNS/$RUN_ID/results.json" <<'PY'
import json, sys
print(" ".join(r["rung"] for r in json.load(open(sys.argv[1]))["rungs"] if r.get("training")))
PY
); do
    adaptlab export "$RUN_ID" --out "$RUNS" --rung "$rung" --format peft --output "exports/$rung" --force
    LORA_MODULES+=("$rung=exports/$rung")
done

# 3. One vLLM server: the base model plus every adapter (max rank: adaptlab's default r=16).
vllm serve "$MODEL_DIR" --served-model-name base --port "$PORT" \
    --enable-lora --max-lora-rank 16 --lora-modules "${LORA_MODULES[@]}" &
VLLM_PID=$!
trap 'kill $VLLM_PID' EXIT
until curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null; do sleep 5; done

# 4. The prompt rungs through the endpoint (fine-tuning is skipped for an endpoint model)...
adaptlab run "$TASK" --model openai:base --base-url "http://127.0.0.1:$PORT/v1" \
    --concurrency 32 --out "$RUNS"
# ... and each adapter, asked as it was trained (zero-shot prompt), through the same server.
for module in "${LORA_MODULES[@]}"; do
    adaptlab eval "$TASK" --model "openai:${module%%=*}" --base-url "http://127.0.0.1:$PORT/v1" \
        --strategies zero-shot --concurrency 32 --out "$RUNS"
done
echo "compare runs with: adaptlab compare RUN_A RUN_B --out $RUNS"
