package io.ferry.samehost;

import io.ferry.ErrorCode;
import io.ferry.FerryException;
import io.ferry.internal.Hmac;
import io.ferry.internal.LogThrottle;
import io.ferry.internal.Posix;
import io.ferry.internal.SystemCallException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one channel between agents on one host: notifications (of the SHM and CUDA backends), and the memory-file
 * descriptors of shared regions, passed with {@code SCM_RIGHTS}. Each agent listens on a name in the abstract Unix
 * socket namespace (nothing in the file system, gone with the process); an initiator opens one connection per
 * target, authenticates both ways, and keeps it open: its end is how either side learns at once that the other
 * died.
 * <p>
 * Frames, big-endian, a 16-byte header then the body:
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------+---------------+-------------------------------+
 * |   type (u8)   |  version (1)  |         reserved (0)          |
 * +---------------+---------------+-------------------------------+
 * |                       body length (u32)                       |
 * +---------------------------------------------------------------+
 * |                      request id (u64)                         |
 * |                                                               |
 * +---------------------------------------------------------------+
 *  HELLO      I→T  initiator nonce[32] | name length u16 | name
 *  CHALLENGE  T→I  target nonce[32] | target proof[32] | name length u16 | target name
 *  AUTH       I→T  initiator proof[32]
 *  WELCOME    T→I  (empty)
 *  REFUSED    T→I  reason (UTF-8)
 *  NOTIFY     I→T  payload
 *  FAILURE    I→T  reason length u32 | reason | payload
 *  MAP        I→T  address u64 | length u64 | access key u64        (request id names the reply)
 *  MAP_OK     T→I  offset in file u64 | file size u64, the file's descriptor attached
 *  MAP_ERROR  T→I  error code u8 | message (UTF-8)
 * </pre>
 * Proofs are HMAC-SHA256 of the secret over a role label, both nonces and the initiator's name (zeros without a
 * secret); a side that has a secret refuses a peer that does not prove it. Every length is checked against its
 * type's bound before anything is allocated; a frame that breaks the protocol closes its connection (and only it).
 */
public final class SameHostChannel implements AutoCloseable
{
    /** The most bytes of a notification. */
    public static final int MAX_NOTIFICATION = 16 << 20;
    private static final int MAX_REASON = 64 << 10;
    private static final int MAX_HANDSHAKE_BODY = 1024;
    private static final int HEADER = 16;
    private static final byte VERSION = 1;
    private static final byte HELLO = 1;
    private static final byte CHALLENGE = 2;
    private static final byte AUTH = 3;
    private static final byte WELCOME = 4;
    private static final byte REFUSED = 5;
    private static final byte NOTIFY = 6;
    private static final byte FAILURE = 7;
    private static final byte MAP = 8;
    private static final byte MAP_OK = 9;
    private static final byte MAP_ERROR = 10;
    private static final int NONCE = 32;
    private static final int IO_CHUNK = 64 << 10;
    private static final byte[] TARGET_LABEL = "ferry-samehost-target".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] INITIATOR_LABEL = "ferry-samehost-initiator".getBytes(StandardCharsets.US_ASCII);
    private static final System.Logger LOG = System.getLogger(SameHostChannel.class.getName());
    private static final AtomicLong NAMES = new AtomicLong();

    /**
     * What the owning backend does with what arrives. Called from the channel's reader threads.
     */
    public interface Listener
    {
        /**
         * @param sender  the authenticated initiator.
         * @param payload the notification.
         */
        void notification(String sender, byte[] payload);

        /**
         * @param sender  the authenticated initiator.
         * @param payload the notification the failed transfer carried.
         * @param reason  why it failed.
         */
        void failureNotification(String sender, byte[] payload, String reason);

        /**
         * A peer asks for the memory file behind one of this agent's regions.
         *
         * @param sender    the authenticated initiator.
         * @param address   the region's address.
         * @param length    its length.
         * @param accessKey the key the peer presents.
         * @return the file and where the region starts in it; the descriptor stays the listener's.
         * @throws FerryException when refused, naming why (sent back to the peer).
         */
        default Grant grant(final String sender, final long address, final long length, final long accessKey)
        {
            throw new FerryException(ErrorCode.NOT_SUPPORTED, "this agent shares no memory files");
        }

        /**
         * Every connection an initiator had opened to this agent has closed.
         *
         * @param sender the initiator.
         * @param reason why.
         */
        void initiatorLost(String sender, String reason);

        /**
         * The connection to a target ended (its process died or its agent closed).
         *
         * @param peer   the target.
         * @param reason why.
         */
        void targetLost(String peer, String reason);
    }

    /**
     * A memory file of this agent's, for {@link Listener#grant}.
     *
     * @param fd     a descriptor the channel closes once it has passed it on.
     * @param offset where the region starts in it.
     */
    public record Grant(int fd, long offset)
    {
    }

    /**
     * A peer's memory file, received: the caller owns the descriptor and must close it.
     *
     * @param fd       the descriptor in this process.
     * @param offset   where the region starts in it.
     * @param fileSize the file's size as the peer stated it.
     */
    public record SharedFile(int fd, long offset, long fileSize)
    {
    }

    private final String agentName;
    private final byte[] secret;
    private final Listener listener;
    private final long handshakeMillis;
    private final int maxInbound;
    private final String label;
    private final String address;
    private final int listenFd;
    private final Thread acceptor;
    private final SecureRandom random = new SecureRandom();
    private final Map<Integer, Inbound> inbound = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> inboundByPeer = new ConcurrentHashMap<>();
    private final Map<String, Outbound> outbound = new ConcurrentHashMap<>();
    private final LogThrottle strangers = new LogThrottle(5, TimeUnit.MINUTES.toNanos(1));
    private final AtomicLong requestIds = new AtomicLong();
    /** Frames that failed otherwise than as a protocol violation: a bug (the fuzzer watches it). */
    private final AtomicLong unexpected = new AtomicLong();
    private volatile boolean closed;

    /**
     * Starts listening.
     *
     * @param agentName       the owning agent (the sender name of its notifications).
     * @param secret          the shared secret, or null for none.
     * @param listener        what to do with what arrives.
     * @param handshakeMillis the deadline of a handshake and of a map request.
     * @param maxInbound      the most connections peers may hold open to this agent.
     * @param label           a short word for thread names ("shm", "cuda").
     * @throws FerryException BACKEND when the socket cannot be made.
     */
    public SameHostChannel(final String agentName, final byte[] secret, final Listener listener,
        final long handshakeMillis, final int maxInbound, final String label)
    {
        if (null != Posix.unavailableReason())
        {
            throw new FerryException(ErrorCode.BACKEND, Posix.unavailableReason());
        }
        this.agentName = agentName;
        this.secret = null == secret || 0 == secret.length ? null : secret.clone();
        this.listener = listener;
        this.handshakeMillis = handshakeMillis;
        this.maxInbound = maxInbound;
        this.label = label;
        this.address = "ferry-" + ProcessHandle.current().pid() + "-" + NAMES.incrementAndGet() + "-" +
            Long.toHexString(random.nextLong());
        try
        {
            this.listenFd = Posix.unixSocket();
        }
        catch (final SystemCallException ex)
        {
            throw new FerryException(ErrorCode.BACKEND, "cannot make a Unix socket: " + ex.getMessage(), ex);
        }
        try
        {
            Posix.bindAndListen(listenFd, address, 128);
        }
        catch (final SystemCallException ex)
        {
            Posix.close(listenFd);
            throw new FerryException(ErrorCode.BACKEND, "cannot listen on @" + address + ": " + ex.getMessage(), ex);
        }
        acceptor = new Thread(this::acceptLoop, "ferry-" + label + "-channel-" + agentName);
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** @return how many connections ended on an exception other than a protocol violation (a bug if not 0). */
    long unexpectedFailures()
    {
        return unexpected.get();
    }

    /** @return the abstract socket name peers connect to (publish it in the connection info). */
    public String address()
    {
        return address;
    }

    // ------------------------------------------------------------------------------------------ target side

    private void acceptLoop()
    {
        while (!closed)
        {
            final int fd;
            try
            {
                fd = Posix.accept(listenFd);
            }
            catch (final SystemCallException ex)
            {
                if (!closed)
                {
                    if (24 == ex.errno() || 23 == ex.errno())
                    {
                        LOG.log(System.Logger.Level.WARNING, "agent '" + agentName + "' is out of descriptors: " +
                            "a same-host connection waits");
                        sleepQuietly(10);
                        continue;
                    }
                    LOG.log(System.Logger.Level.WARNING, "same-host listener of '" + agentName + "' failed: " +
                        ex.getMessage());
                }
                return;
            }
            if (inbound.size() >= maxInbound)
            {
                logStranger("refuses a same-host connection: " + maxInbound + " are open already");
                Posix.close(fd);
                continue;
            }
            final Inbound in = new Inbound(fd);
            inbound.put(fd, in);
            if (closed)
            {
                in.stop();
                return;
            }
            try
            {
                in.thread.start();
            }
            catch (final OutOfMemoryError ex)
            {
                inbound.remove(fd);
                Posix.close(fd);
                logStranger("cannot start a thread for a same-host connection (" + ex.getMessage() + "); closed it");
                sleepQuietly(10);
            }
        }
    }

    private void logStranger(final String message)
    {
        final long suppressed = strangers.admit(System.nanoTime());
        if (suppressed >= 0)
        {
            LOG.log(System.Logger.Level.WARNING, "agent '" + agentName + "' " + message +
                (suppressed > 0 ? " (" + suppressed + " like it not logged)" : ""));
        }
    }

    /** One connection from an initiator, served by its own thread. */
    private final class Inbound
    {
        final int fd;
        final Thread thread;
        final FrameIo io;
        String sender;

        Inbound(final int fd)
        {
            this.fd = fd;
            this.io = new FrameIo(fd);
            this.thread = new Thread(this::run, "ferry-" + label + "-in-" + agentName);
            this.thread.setDaemon(true);
        }

        void stop()
        {
            io.shutdown();
        }

        private void run()
        {
            String why = "the connection closed";
            try
            {
                Posix.setTimeouts(fd, handshakeMillis);
                if (!handshake())
                {
                    return;
                }
                Posix.setTimeouts(fd, 0);
                while (!closed)
                {
                    final Frame f = io.read(this::bodyLimit);
                    if (null == f)
                    {
                        return;
                    }
                    serve(f);
                }
            }
            catch (final ProtocolException ex)
            {
                why = ex.getMessage();
                logStranger("closes a same-host connection" + (null == sender ? "" : " of '" + sender + "'") +
                    ": " + LogThrottle.printable(why, 200));
            }
            catch (final SystemCallException ex)
            {
                why = "the connection ended: " + ex.getMessage();
            }
            catch (final RuntimeException ex)
            {
                unexpected.incrementAndGet();
                why = "a frame it could not serve: " + ex;
                LOG.log(System.Logger.Level.WARNING, "agent '" + agentName + "' closes a same-host connection" +
                    (null == sender ? "" : " of '" + sender + "'") + " after " + why, ex);
            }
            finally
            {
                io.close();
                inbound.remove(fd); // after the close: the bound on connections counts every one still open
                if (null != sender)
                {
                    final AtomicInteger n = inboundByPeer.get(sender);
                    if (null != n && 0 == n.decrementAndGet() && !closed)
                    {
                        listener.initiatorLost(sender, why);
                    }
                }
            }
        }

        private long bodyLimit(final byte type)
        {
            if (null == sender)
            {
                return MAX_HANDSHAKE_BODY;
            }
            return switch (type)
            {
                case NOTIFY -> MAX_NOTIFICATION;
                case FAILURE -> 4L + MAX_REASON + MAX_NOTIFICATION;
                case MAP -> 24;
                default -> -1;
            };
        }

        private boolean handshake()
        {
            final Frame hello = io.read(this::bodyLimit);
            if (null == hello)
            {
                return false;
            }
            if (HELLO != hello.type || hello.body.length < NONCE + 2)
            {
                throw new ProtocolException("expected HELLO, got type " + hello.type);
            }
            final ByteBuffer b = ByteBuffer.wrap(hello.body);
            final byte[] initiatorNonce = new byte[NONCE];
            b.get(initiatorNonce);
            final String name = utf8(b, b.getShort() & 0xFFFF);
            final byte[] targetNonce = new byte[NONCE];
            random.nextBytes(targetNonce);
            final byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
            final byte[] proof = Hmac.sha256(secret, TARGET_LABEL, initiatorNonce, targetNonce, nameBytes);
            final byte[] me = agentName.getBytes(StandardCharsets.UTF_8);
            io.write(CHALLENGE, 0, ByteBuffer.allocate(NONCE * 2 + 2 + me.length).put(targetNonce).put(proof)
                .putShort((short)me.length).put(me).array(), -1);
            final Frame auth = io.read(this::bodyLimit);
            if (null == auth)
            {
                return false;
            }
            if (AUTH != auth.type || Hmac.LENGTH != auth.body.length)
            {
                throw new ProtocolException("expected AUTH, got type " + auth.type);
            }
            if (null != secret && !Hmac.matches(Hmac.sha256(secret, INITIATOR_LABEL, targetNonce, initiatorNonce,
                nameBytes), auth.body))
            {
                io.write(REFUSED, 0, "authentication failed: the initiator did not prove the shared secret"
                    .getBytes(StandardCharsets.UTF_8), -1);
                throw new ProtocolException("'" + LogThrottle.printable(name, 64) + "' did not prove the secret");
            }
            io.write(WELCOME, 0, new byte[0], -1);
            sender = name;
            inboundByPeer.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
            return true;
        }

        private void serve(final Frame f)
        {
            final ByteBuffer b = ByteBuffer.wrap(f.body);
            switch (f.type)
            {
                case NOTIFY -> listener.notification(sender, f.body);
                case FAILURE ->
                {
                    if (f.body.length < 4)
                    {
                        throw new ProtocolException("a failure notification of " + f.body.length + " B");
                    }
                    final int reasonLength = b.getInt();
                    if (reasonLength < 0 || reasonLength > MAX_REASON || reasonLength > b.remaining())
                    {
                        throw new ProtocolException("a failure notification's reason length " + reasonLength +
                            " is out of bounds");
                    }
                    final String reason = utf8(b, reasonLength);
                    final byte[] payload = new byte[b.remaining()];
                    b.get(payload);
                    listener.failureNotification(sender, payload, reason);
                }
                case MAP ->
                {
                    if (24 != f.body.length)
                    {
                        throw new ProtocolException("a MAP frame of " + f.body.length + " B");
                    }
                    final long at = b.getLong();
                    final long length = b.getLong();
                    final long key = b.getLong();
                    try
                    {
                        final Grant g = listener.grant(sender, at, length, key);
                        try
                        {
                            final long size = Posix.size(g.fd());
                            io.write(MAP_OK, f.requestId, ByteBuffer.allocate(16).putLong(g.offset()).putLong(size)
                                .array(), g.fd());
                        }
                        finally
                        {
                            Posix.close(g.fd());
                        }
                    }
                    catch (final FerryException | SystemCallException ex)
                    {
                        final ErrorCode code = ex instanceof FerryException fe ? fe.code() : ErrorCode.BACKEND;
                        final byte[] m = String.valueOf(ex.getMessage()).getBytes(StandardCharsets.UTF_8);
                        io.write(MAP_ERROR, f.requestId, ByteBuffer.allocate(1 + Math.min(m.length, 4000))
                            .put((byte)code.ordinal()).put(m, 0, Math.min(m.length, 4000)).array(), -1);
                    }
                }
                default -> throw new ProtocolException("unexpected frame type " + f.type);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ initiator side

    /** One connection to a target, opened by this agent. */
    private final class Outbound
    {
        final String peer;
        final int fd;
        final int pid;
        final FrameIo io;
        final Thread thread;
        final Map<Long, CompletableFuture<Frame>> pending = new ConcurrentHashMap<>();
        volatile String lostReason;
        /** This side forgot the connection ({@link #forget}): its end is not reported as a lost peer. */
        volatile boolean forgotten;

        Outbound(final String peer, final int fd, final int pid, final FrameIo io)
        {
            this.peer = peer;
            this.fd = fd;
            this.pid = pid;
            this.io = io;
            this.thread = new Thread(this::run, "ferry-" + label + "-out-" + agentName + "-" + peer);
            this.thread.setDaemon(true);
        }

        private long bodyLimit(final byte type)
        {
            return switch (type)
            {
                case MAP_OK -> 16;
                case MAP_ERROR -> 4001;
                default -> -1;
            };
        }

        private void run()
        {
            String why = "it closed the connection (its process ended or its agent closed)";
            try
            {
                while (!closed)
                {
                    final Frame f = io.read(this::bodyLimit);
                    if (null == f)
                    {
                        break;
                    }
                    final CompletableFuture<Frame> waiter = pending.remove(f.requestId);
                    if (null == waiter)
                    {
                        Posix.close(f.fd);
                        throw new ProtocolException("a reply to no request (" + f.requestId + ")");
                    }
                    waiter.complete(f);
                }
            }
            catch (final ProtocolException | SystemCallException ex)
            {
                why = "the connection failed: " + ex.getMessage();
            }
            finally
            {
                lostReason = why;
                outbound.remove(peer, this);
                io.close();
                for (final CompletableFuture<Frame> w : pending.values())
                {
                    w.completeExceptionally(new FerryException(ErrorCode.REMOTE_DISCONNECT, "peer '" + peer + "': " +
                        why));
                }
                pending.clear();
                // a connection this side forgot (its agent disconnected from the peer) is not a lost peer: the
                // report would arrive late and drop the peer's metadata if it was loaded again meanwhile
                if (!closed && !forgotten)
                {
                    listener.targetLost(peer, why);
                }
            }
        }

        void send(final byte type, final long requestId, final byte[] body)
        {
            try
            {
                io.write(type, requestId, body, -1);
            }
            catch (final SystemCallException ex)
            {
                throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "same-host peer '" + peer + "' is gone: " +
                    ex.getMessage());
            }
        }
    }

    /**
     * Opens (once) the authenticated connection to a target.
     *
     * @param peer        the target's agent name.
     * @param peerAddress its socket name.
     * @return the target's process id, as the kernel reports it for the connection.
     * @throws FerryException REMOTE_DISCONNECT when nobody listens; NOT_ALLOWED when authentication fails or the
     *                        listener is not the named agent.
     */
    public int connect(final String peer, final String peerAddress)
    {
        return outbound(peer, peerAddress).pid;
    }

    private Outbound outbound(final String peer, final String peerAddress)
    {
        final Outbound existing = outbound.get(peer);
        if (null != existing)
        {
            return existing;
        }
        synchronized (this)
        {
            final Outbound again = outbound.get(peer);
            if (null != again)
            {
                return again;
            }
            if (closed)
            {
                throw new FerryException(ErrorCode.CANCELED, "agent '" + agentName + "' is closing");
            }
            final Outbound made = open(peer, peerAddress);
            outbound.put(peer, made);
            made.thread.start();
            return made;
        }
    }

    private Outbound open(final String peer, final String peerAddress)
    {
        final int fd = Posix.unixSocket();
        final FrameIo io = new FrameIo(fd);
        boolean ok = false;
        try
        {
            Posix.setTimeouts(fd, handshakeMillis);
            try
            {
                Posix.connect(fd, peerAddress);
            }
            catch (final SystemCallException ex)
            {
                throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "same-host peer '" + peer + "' does not listen " +
                    "at @" + peerAddress + ": " + ex.getMessage());
            }
            final byte[] nonce = new byte[NONCE];
            random.nextBytes(nonce);
            final byte[] me = agentName.getBytes(StandardCharsets.UTF_8);
            io.write(HELLO, 0, ByteBuffer.allocate(NONCE + 2 + me.length).put(nonce).putShort((short)me.length)
                .put(me).array(), -1);
            final Frame challenge = io.read(t -> MAX_HANDSHAKE_BODY);
            if (null == challenge || CHALLENGE != challenge.type || challenge.body.length < 2 * NONCE + 2)
            {
                throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "same-host peer '" + peer + "' at @" +
                    peerAddress + " did not answer the handshake");
            }
            final ByteBuffer b = ByteBuffer.wrap(challenge.body);
            final byte[] targetNonce = new byte[NONCE];
            final byte[] proof = new byte[Hmac.LENGTH];
            b.get(targetNonce).get(proof);
            final int nameLength = b.getShort() & 0xFFFF;
            if (nameLength > b.remaining())
            {
                throw new ProtocolException("a CHALLENGE with a name past its end");
            }
            final String target = utf8(b, nameLength);
            if (null != secret && !Hmac.matches(Hmac.sha256(secret, TARGET_LABEL, nonce, targetNonce, me), proof))
            {
                throw new FerryException(ErrorCode.NOT_ALLOWED, "same-host peer '" + peer + "' at @" + peerAddress +
                    " did not prove the shared secret");
            }
            if (!peer.equals(target))
            {
                throw new FerryException(ErrorCode.NOT_ALLOWED, "the agent at @" + peerAddress + " is '" +
                    LogThrottle.printable(target, 64) + "', not '" + peer + "'");
            }
            io.write(AUTH, 0, Hmac.sha256(secret, INITIATOR_LABEL, targetNonce, nonce, me), -1);
            final Frame answer = io.read(t -> MAX_HANDSHAKE_BODY);
            if (null == answer || WELCOME != answer.type)
            {
                final String reason = null != answer && REFUSED == answer.type ?
                    new String(answer.body, StandardCharsets.UTF_8) : "the connection closed";
                throw new FerryException(ErrorCode.NOT_ALLOWED, "same-host peer '" + peer + "' refused agent '" +
                    agentName + "': " + LogThrottle.printable(reason, 200));
            }
            Posix.setTimeouts(fd, 0);
            final int pid = Posix.peerCredentials(fd)[0];
            io.releaseBuffers(); // this thread's; the reader thread makes its own
            ok = true;
            return new Outbound(peer, fd, pid, io);
        }
        catch (final SystemCallException ex)
        {
            throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "same-host handshake with '" + peer + "' failed: " +
                ex.getMessage(), ex);
        }
        catch (final ProtocolException ex)
        {
            throw new FerryException(ErrorCode.MISMATCH, "same-host peer '" + peer + "' broke the handshake: " +
                ex.getMessage(), ex);
        }
        finally
        {
            if (!ok)
            {
                io.close();
            }
        }
    }

    /**
     * @param peer a target.
     * @return whether the connection to it is open.
     */
    public boolean connected(final String peer)
    {
        return outbound.containsKey(peer);
    }

    /**
     * Sends a notification to a target (connecting first if needed); it arrives after every frame sent before it.
     *
     * @param peer        the target.
     * @param peerAddress its socket name.
     * @param payload     the message.
     * @throws FerryException INVALID_PARAM over {@link #MAX_NOTIFICATION}; REMOTE_DISCONNECT when the peer is gone.
     */
    public void notify(final String peer, final String peerAddress, final byte[] payload)
    {
        checkPayload(payload);
        outbound(peer, peerAddress).send(NOTIFY, 0, payload);
    }

    /**
     * Tells a target that a transfer carrying a notification failed.
     *
     * @param peer        the target.
     * @param peerAddress its socket name.
     * @param payload     the notification the transfer carried.
     * @param reason      why it failed.
     */
    public void notifyFailure(final String peer, final String peerAddress, final byte[] payload, final String reason)
    {
        checkPayload(payload);
        byte[] r = String.valueOf(reason).getBytes(StandardCharsets.UTF_8);
        if (r.length > MAX_REASON)
        {
            r = java.util.Arrays.copyOf(r, MAX_REASON);
        }
        outbound(peer, peerAddress).send(FAILURE, 0, ByteBuffer.allocate(4 + r.length + payload.length)
            .putInt(r.length).put(r).put(payload).array());
    }

    private static void checkPayload(final byte[] payload)
    {
        if (payload.length > MAX_NOTIFICATION)
        {
            throw FerryException.invalid("a same-host notification carries at most " + MAX_NOTIFICATION +
                " bytes, got " + payload.length);
        }
    }

    /**
     * Asks a target for the memory file of one of its regions.
     *
     * @return the file; the caller closes its descriptor.
     * @throws FerryException the target's refusal (its code and message), REMOTE_DISCONNECT when it is gone,
     *                        TIMEOUT past the handshake deadline.
     */
    public SharedFile requestFile(final String peer, final String peerAddress, final long regionAddress,
        final long length, final long accessKey)
    {
        final Outbound out = outbound(peer, peerAddress);
        final long id = requestIds.incrementAndGet();
        final CompletableFuture<Frame> reply = new CompletableFuture<>();
        out.pending.put(id, reply);
        if (null != out.lostReason)
        {
            out.pending.remove(id);
            throw new FerryException(ErrorCode.REMOTE_DISCONNECT, "peer '" + peer + "': " + out.lostReason);
        }
        out.send(MAP, id, ByteBuffer.allocate(24).putLong(regionAddress).putLong(length).putLong(accessKey).array());
        final Frame f;
        try
        {
            f = reply.get(handshakeMillis, TimeUnit.MILLISECONDS);
        }
        catch (final TimeoutException ex)
        {
            out.pending.remove(id);
            reply.thenAccept(late -> Posix.close(late.fd));
            throw new FerryException(ErrorCode.TIMED_OUT, "same-host peer '" + peer + "' did not answer a map " +
                "request within " + handshakeMillis + " ms");
        }
        catch (final ExecutionException ex)
        {
            throw ex.getCause() instanceof FerryException fe ? fe : new FerryException(ErrorCode.BACKEND,
                String.valueOf(ex.getCause()), ex.getCause());
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            out.pending.remove(id);
            throw new FerryException(ErrorCode.CANCELED, "interrupted while mapping a region of '" + peer + "'");
        }
        final ByteBuffer b = ByteBuffer.wrap(f.body);
        if (MAP_ERROR == f.type && f.body.length >= 1)
        {
            Posix.close(f.fd);
            final int code = b.get() & 0xFF;
            final ErrorCode[] codes = ErrorCode.values();
            throw new FerryException(code < codes.length ? codes[code] : ErrorCode.BACKEND, "peer '" + peer +
                "' refused to share a region: " + LogThrottle.printable(utf8(b, b.remaining()), 300));
        }
        if (MAP_OK != f.type || f.fd < 0 || 16 != f.body.length)
        {
            Posix.close(f.fd);
            throw new FerryException(ErrorCode.MISMATCH, "peer '" + peer + "' answered a map request without a file");
        }
        return new SharedFile(f.fd, b.getLong(), b.getLong());
    }

    /**
     * @param peer a target.
     * @return its process id as the kernel reports it for the open connection, or -1 when none is open.
     */
    public int peerPid(final String peer)
    {
        final Outbound out = outbound.get(peer);
        return null == out ? -1 : out.pid;
    }

    /**
     * Closes the connection to a target (nothing is reported to the listener).
     *
     * @param peer the target.
     */
    public void forget(final String peer)
    {
        final Outbound out = outbound.remove(peer);
        if (null != out)
        {
            out.forgotten = true;
            out.lostReason = "forgotten";
            out.io.shutdown();
        }
    }

    /**
     * Stops listening, closes every connection and waits for the channel's threads.
     */
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        Posix.shutdown(listenFd);
        final List<Thread> threads = new ArrayList<>();
        threads.add(acceptor);
        for (final Inbound in : inbound.values())
        {
            in.stop();
            threads.add(in.thread);
        }
        for (final Outbound out : outbound.values())
        {
            out.io.shutdown();
            threads.add(out.thread);
        }
        for (final Thread t : threads)
        {
            try
            {
                t.join(5_000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        outbound.clear();
        Posix.close(listenFd);
    }

    private static String utf8(final ByteBuffer b, final int length)
    {
        if (length > b.remaining())
        {
            throw new ProtocolException("a string of " + length + " B past the frame's end");
        }
        final String s = new String(b.array(), b.arrayOffset() + b.position(), length, StandardCharsets.UTF_8);
        b.position(b.position() + length);
        return s;
    }

    private static void sleepQuietly(final long millis)
    {
        try
        {
            Thread.sleep(millis);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------------------------------ framing

    /** A received frame; {@code fd} is a descriptor that came with it, or -1. */
    private record Frame(byte type, long requestId, byte[] body, int fd)
    {
    }

    /** The peer broke the protocol: its connection closes. */
    private static final class ProtocolException extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        ProtocolException(final String message)
        {
            super(message);
        }
    }

    /** Bounds per frame type: the most body bytes, or negative for a type not allowed. */
    private interface BodyLimit
    {
        long of(byte type);
    }

    /**
     * Reads and writes frames of one socket. Its native read buffers belong to the thread that reads (a confined
     * arena, made at the first read and freed by {@link #releaseBuffers} or {@link #close} on that thread): closing a
     * shared arena makes every thread of the JVM take part, which thousands of short connections turned into a
     * standstill (found by the fuzzer).
     */
    private static final class FrameIo
    {
        private final int fd;
        private Arena arena;
        private MemorySegment buffer;
        private MemorySegment scratch;
        private MemorySegment capture;
        private final int[] receivedFd = {-1};
        private final Object writeLock = new Object();
        private boolean closed;

        FrameIo(final int fd)
        {
            this.fd = fd;
        }

        /** @return the next frame, or null at a clean end of stream before its first byte. */
        Frame read(final BodyLimit limit)
        {
            if (null == arena)
            {
                arena = Arena.ofConfined();
                buffer = arena.allocate(IO_CHUNK);
                scratch = arena.allocate(Posix.RECV_SCRATCH_BYTES);
                capture = Posix.captureSegment(arena);
            }
            final byte[] header = new byte[HEADER];
            if (!readFully(header, true))
            {
                return null;
            }
            final ByteBuffer h = ByteBuffer.wrap(header);
            final byte type = h.get();
            final byte version = h.get();
            h.getShort();
            final long length = h.getInt() & 0xFFFFFFFFL;
            final long requestId = h.getLong();
            final long max = limit.of(type);
            if (VERSION != version || max < 0 || length > max)
            {
                closeReceived();
                throw new ProtocolException("a frame of type " + type + ", version " + version + " and " + length +
                    " B is not allowed here");
            }
            final byte[] body = new byte[(int)length];
            readFully(body, false);
            final int fdWith = receivedFd[0];
            receivedFd[0] = -1;
            if (fdWith >= 0 && MAP_OK != type)
            {
                Posix.close(fdWith);
                throw new ProtocolException("a descriptor came with a frame of type " + type);
            }
            return new Frame(type, requestId, body, fdWith);
        }

        private boolean readFully(final byte[] into, final boolean mayEnd)
        {
            int at = 0;
            while (at < into.length)
            {
                final int n = Posix.receive(fd, buffer.asSlice(0, Math.min(IO_CHUNK, into.length - at)), scratch,
                    capture, receivedFd);
                if (0 == n)
                {
                    closeReceived();
                    if (mayEnd && 0 == at)
                    {
                        return false;
                    }
                    throw new ProtocolException("the connection closed inside a frame");
                }
                MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, 0, into, at, n);
                at += n;
            }
            return true;
        }

        private void closeReceived()
        {
            Posix.close(receivedFd[0]);
            receivedFd[0] = -1;
        }

        void write(final byte type, final long requestId, final byte[] body, final int passFd)
        {
            final byte[] frame = new byte[HEADER + body.length];
            ByteBuffer.wrap(frame).put(type).put(VERSION).putShort((short)0).putInt(body.length).putLong(requestId)
                .put(body);
            synchronized (writeLock)
            {
                if (closed)
                {
                    throw new SystemCallException("sendmsg", 32);
                }
                Posix.sendAll(fd, frame, passFd);
            }
        }

        /** Wakes the reader and any writer; safe after {@link #close} (then it does nothing). */
        void shutdown()
        {
            synchronized (writeLock)
            {
                if (!closed)
                {
                    Posix.shutdown(fd);
                }
            }
        }

        /** Closes the socket and frees the buffers; only the reading thread (or the opener, before any) calls it. */
        void close()
        {
            synchronized (writeLock)
            {
                if (closed)
                {
                    return;
                }
                closed = true;
                Posix.shutdown(fd);
                Posix.close(fd);
            }
            closeReceived();
            releaseBuffers();
        }

        /** Frees the read buffers (the reading thread only); the next read, on any thread, makes new ones. */
        void releaseBuffers()
        {
            if (null != arena)
            {
                arena.close();
                arena = null;
            }
        }
    }
}
