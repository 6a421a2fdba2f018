package io.ferry.tcp;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Connection set-up, authenticated both ways when a shared secret is configured:
 * <ol>
 *     <li>the target sends a random challenge;</li>
 *     <li>the initiator answers with HELLO naming itself and the target agent it wants, with
 *     HMAC-SHA256(secret, challenge | initiator | 0 | target) and a random nonce of its own;</li>
 *     <li>the target refuses a HELLO for another agent name or with a wrong MAC; else it answers HELLO_OK with its
 *     limits and its proof, HMAC-SHA256(secret, "ferry-target" | initiator nonce | challenge | target | 0 |
 *     initiator);</li>
 *     <li>an initiator with a secret checks that proof before it sends a byte of data: a target that does not know
 *     the secret (a fake one, or one another agent's name was pointed at) is refused.</li>
 * </ol>
 * Both proofs name both agents, so a proof made for one pair of agents does not pass for another, and each side's
 * fresh random value makes a recorded proof useless later. Without a secret the MACs are zeros and nothing is
 * proved (the trust model in the README says what that means).
 */
final class Handshake
{
    private static final byte[] TARGET_LABEL = "ferry-target".getBytes(StandardCharsets.US_ASCII);

    private Handshake()
    {
    }

    /** @return the initiator's MAC over the challenge and both names; zeros without a secret. */
    static byte[] mac(final byte[] secret, final byte[] challenge, final String initiator, final String target)
    {
        if (null == secret)
        {
            return new byte[Frames.MAC_LENGTH];
        }
        return hmac(secret, challenge, initiator.getBytes(StandardCharsets.UTF_8), new byte[] {0},
            target.getBytes(StandardCharsets.UTF_8));
    }

    /** @return the target's proof over the initiator's nonce, its own challenge and both names; zeros without a secret. */
    static byte[] targetProof(final byte[] secret, final byte[] initiatorNonce, final byte[] challenge,
        final String target, final String initiator)
    {
        if (null == secret || null == initiatorNonce)
        {
            return new byte[Frames.MAC_LENGTH];
        }
        return hmac(secret, TARGET_LABEL, initiatorNonce, challenge, target.getBytes(StandardCharsets.UTF_8),
            new byte[] {0}, initiator.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] hmac(final byte[] secret, final byte[]... parts)
    {
        return io.ferry.internal.Hmac.sha256(secret, parts);
    }

    static boolean macMatches(final byte[] expected, final byte[] actual)
    {
        return io.ferry.internal.Hmac.matches(expected, actual);
    }

    /** @return the body length of a HELLO with names of these many bytes and an initiator nonce (padding included). */
    static int helloBody(final int initiatorLength, final int targetLength)
    {
        return (int)Frames.aligned(Frames.HEADER_LENGTH + 2 + initiatorLength + 2 + targetLength + 4 +
            Frames.MAC_LENGTH + Frames.CHALLENGE_LENGTH + 4) - Frames.HEADER_LENGTH;
    }

    /** A HELLO without an initiator nonce: the target sends no proof (as a peer that trusts the target does). */
    static ByteBuffer hello(final String initiator, final String target, final int path, final byte[] mac)
    {
        return hello(initiator, target, path, mac, null);
    }

    /**
     * @param nonce the initiator's random nonce (asks the target for its proof), or null.
     * @return the HELLO frame, flipped.
     */
    static ByteBuffer hello(final String initiator, final String target, final int path, final byte[] mac,
        final byte[] nonce)
    {
        return hello(initiator, target, path, mac, nonce, -1);
    }

    /**
     * @param nonce      the initiator's random nonce (asks the target for its proof), or null.
     * @param generation how many times this path index was connected (for FENCE), or -1 to send none.
     * @return the HELLO frame, flipped.
     */
    static ByteBuffer hello(final String initiator, final String target, final int path, final byte[] mac,
        final byte[] nonce, final int generation)
    {
        final byte[] i = initiator.getBytes(StandardCharsets.UTF_8);
        final byte[] t = target.getBytes(StandardCharsets.UTF_8);
        final int body = (int)Frames.aligned(Frames.HEADER_LENGTH + 2 + i.length + 2 + t.length + 4 +
            Frames.MAC_LENGTH + (null == nonce ? 0 : Frames.CHALLENGE_LENGTH) + (generation < 0 ? 0 : 4)) -
            Frames.HEADER_LENGTH;
        final ByteBuffer buf = ByteBuffer.allocate(Frames.HEADER_LENGTH + body);
        Frames.putHeader(buf, Frames.HELLO, body, 0);
        final int flags = (null == nonce ? 0 : Frames.HELLO_FLAG_NONCE) |
            (generation < 0 ? 0 : Frames.HELLO_FLAG_GENERATION);
        buf.putShort((short)i.length).put(i).putShort((short)t.length).put(t).putShort((short)path)
            .putShort((short)flags).put(mac);
        if (null != nonce)
        {
            buf.put(nonce);
        }
        if (generation >= 0)
        {
            buf.putInt(generation);
        }
        return Frames.putPadding(buf).flip();
    }

    /**
     * The target's answer to a good HELLO: its limits and its proof.
     *
     * @return the 64-byte HELLO_OK frame, flipped.
     */
    static ByteBuffer helloOk(final Limits limits, final byte[] proof)
    {
        final ByteBuffer ok = ByteBuffer.allocate(Frames.HEADER_LENGTH + Frames.EMPTY_BODY);
        Frames.putHeader(ok, Frames.HELLO_OK, Frames.EMPTY_BODY, 0);
        ok.putInt(limits.maxFrameBytes()).putInt(limits.maxNotificationBytes()).putShort((short)limits.maxSpans())
            .putShort((short)0).putInt(0).put(proof);
        return ok.flip();
    }

    /**
     * What a target accepts, as it announces in HELLO_OK; the initiator refuses at the call what would break them.
     *
     * @param maxFrameBytes        largest frame body.
     * @param maxNotificationBytes largest notification payload.
     * @param maxSpans             most spans in one WRITE or READ_REQ.
     */
    record Limits(int maxFrameBytes, int maxNotificationBytes, int maxSpans)
    {
        /** Reads them from a HELLO_OK frame (header included); null when the frame names none (all zero). */
        static Limits parse(final ByteBuffer helloOk)
        {
            final int frame = helloOk.getInt(Frames.HEADER_LENGTH);
            final int notify = helloOk.getInt(Frames.HEADER_LENGTH + 4);
            final int spans = Short.toUnsignedInt(helloOk.getShort(Frames.HEADER_LENGTH + 8));
            if (frame <= 0 || notify < 0 || 0 == spans)
            {
                return null;
            }
            return new Limits(frame, notify, spans);
        }

        /** @return the proof that follows the limits in a HELLO_OK frame. */
        static byte[] proof(final ByteBuffer helloOk)
        {
            final byte[] proof = new byte[Frames.MAC_LENGTH];
            helloOk.get(Frames.HEADER_LENGTH + 16, proof);
            return proof;
        }
    }

    /**
     * A HELLO as the target read it.
     *
     * @param initiator the initiator's name.
     * @param target    the agent it asked for.
     * @param path      its path index.
     * @param mac       its MAC.
     * @param nonce      its nonce, or null when it sent none.
     * @param generation its path's connection generation (0 when it sent none).
     */
    record Hello(String initiator, String target, int path, byte[] mac, byte[] nonce, int generation)
    {
        static Hello parse(final ByteBuffer body)
        {
            final String initiator = string(body);
            final String target = string(body);
            final int path = Short.toUnsignedInt(body.getShort());
            final int flags = Short.toUnsignedInt(body.getShort());
            if (0 != (flags & ~(Frames.HELLO_FLAG_NONCE | Frames.HELLO_FLAG_GENERATION)))
            {
                throw new IllegalArgumentException("HELLO has unknown flags 0x" + Integer.toHexString(flags));
            }
            final byte[] mac = new byte[Frames.MAC_LENGTH];
            body.get(mac);
            byte[] nonce = null;
            if (0 != (flags & Frames.HELLO_FLAG_NONCE))
            {
                nonce = new byte[Frames.CHALLENGE_LENGTH];
                body.get(nonce);
            }
            final int generation = 0 != (flags & Frames.HELLO_FLAG_GENERATION) ? body.getInt() : 0;
            if (body.remaining() >= Frames.ALIGN)
            {
                throw new IllegalArgumentException("HELLO has " + body.remaining() + " trailing bytes");
            }
            return new Hello(initiator, target, path, mac, nonce, generation);
        }

        private static String string(final ByteBuffer body)
        {
            final int len = Short.toUnsignedInt(body.getShort());
            if (0 == len || len > Frames.MAX_NAME || len > body.remaining())
            {
                throw new IllegalArgumentException("HELLO name of " + len + " bytes");
            }
            final byte[] raw = new byte[len];
            body.get(raw);
            final String name = new String(raw, StandardCharsets.UTF_8);
            if (name.chars().anyMatch(c -> Character.isISOControl(c) || 0xFFFD == c))
            {
                throw new IllegalArgumentException("HELLO name has control characters or is not UTF-8");
            }
            return name;
        }
    }
}
