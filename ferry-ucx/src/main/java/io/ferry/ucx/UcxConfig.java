package io.ferry.ucx;

import io.ferry.FerryException;
import io.ferry.spi.BackendParams;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The UCX backend's parameters.
 *
 * @param spin                 the progress thread polls without sleeping (lowest latency, one core busy) instead
 *                             of sleeping on UCX's wakeup event between completions.
 * @param idleSpinNanos        with {@code progress=wait}, how long the progress thread keeps polling after its last
 *                             work before it sleeps (a reply that comes within it costs no wake-up).
 * @param timeoutMillis        a post that has not completed by then fails with REMOTE_DISCONNECT and its peer's
 *                             endpoint is closed; also the deadline of start-up and registration.
 * @param maxNotificationBytes the largest notification sent or accepted.
 * @param ucx                  UCX configuration passed through: {@code UCX_TLS=tcp} becomes UCX's {@code TLS}
 *                             setting for this backend's context (environment variables still apply to what is
 *                             not set here).
 */
record UcxConfig(boolean spin, long idleSpinNanos, long timeoutMillis, int maxNotificationBytes, Map<String, String> ucx)
{
    /** The prefix of parameters passed to UCX. */
    static final String UCX_PREFIX = "UCX_";
    /** UCX settings ferry passes by default and that a user may override. */
    static final String[] PASSED = {"UCX_TLS", "UCX_NET_DEVICES", "UCX_RNDV_THRESH", "UCX_MAX_RNDV_RAILS",
        "UCX_KEEPALIVE_INTERVAL", "UCX_TCP_CM_REUSEADDR"};

    static Map<String, String> defaults()
    {
        final Map<String, String> m = new LinkedHashMap<>();
        m.put("progress", "wait");
        m.put("idle_spin_us", "50");
        m.put("timeout_ms", "10000");
        m.put("max_notification_bytes", String.valueOf(1 << 20));
        for (final String k : PASSED)
        {
            m.put(k, "");
        }
        return m;
    }

    static UcxConfig parse(final Map<String, String> p)
    {
        final String progress = p.getOrDefault("progress", "wait");
        if (!"wait".equals(progress) && !"spin".equals(progress))
        {
            throw FerryException.invalid("UCX parameter progress=" + progress + " must be 'wait' or 'spin'");
        }
        final Map<String, String> ucx = new LinkedHashMap<>();
        for (final Map.Entry<String, String> e : p.entrySet())
        {
            if (e.getKey().startsWith(UCX_PREFIX) && null != e.getValue() && !e.getValue().isBlank())
            {
                ucx.put(e.getKey().substring(UCX_PREFIX.length()), e.getValue().trim());
            }
        }
        return new UcxConfig("spin".equals(progress),
            BackendParams.number(p, "UCX", "idle_spin_us", 0, 1_000_000) * 1000,
            BackendParams.number(p, "UCX", "timeout_ms", 1, 3_600_000),
            (int)BackendParams.number(p, "UCX", "max_notification_bytes", 0, 64 << 20), Map.copyOf(ucx));
    }
}
