package io.ferry.cli;

import java.util.List;
import java.util.Locale;

/**
 * A model's KV-cache geometry (public model configs).
 *
 * @param name     preset name.
 * @param layers   transformer layers.
 * @param kvHeads  KV heads (0 for MLA).
 * @param headDim  head dimension (for MLA: the compressed KV width, kv_lora_rank + rope dim).
 * @param mla      multi-head latent attention: one latent vector per token and layer, not split into K and V, not
 *                 sharded by tensor parallelism.
 */
record KvModel(String name, int layers, int kvHeads, int headDim, boolean mla)
{
    static final List<KvModel> PRESETS = List.of(
        new KvModel("llama-3.1-8b", 32, 8, 128, false),
        new KvModel("llama-3.1-70b", 80, 8, 128, false),
        new KvModel("qwen3-32b", 64, 8, 128, false),
        new KvModel("deepseek-v3", 61, 0, 512 + 64, true));

    static KvModel preset(final String name)
    {
        final String n = name.trim().toLowerCase(Locale.ROOT);
        for (final KvModel m : PRESETS)
        {
            if (m.name.equals(n))
            {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown model '" + name + "' (presets: " +
            PRESETS.stream().map(KvModel::name).toList() + ")");
    }
}
