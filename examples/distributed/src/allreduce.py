"""Each rank reports the variables a PyTorch-style launcher sets; rank 0 writes a summary."""
import json
import os
import pathlib

keys = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
info = {k: os.environ.get(k) for k in keys}
print(json.dumps(info))
if info["RANK"] == "0":
    pathlib.Path("outputs").mkdir(exist_ok=True)
    pathlib.Path("outputs/world.json").write_text(json.dumps(info))
