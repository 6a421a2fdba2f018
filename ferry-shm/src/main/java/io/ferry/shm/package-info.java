/**
 * The SHM backend: transfers between agents on one host without the network.
 * <p>
 * Two ways to reach a peer's memory, chosen per region and published in its metadata: memory allocated from a
 * {@link io.ferry.shm.ShmArena} is a sealed memory file that a peer maps once (the file's descriptor travels over
 * the agents' authenticated Unix socket, {@link io.ferry.samehost.SameHostChannel}), after which a transfer is
 * plain memory copies in the initiator; any other memory is reached by cross-memory attach
 * ({@code process_vm_readv} / {@code process_vm_writev}, up to 1,024 spans per system call), which the kernel allows
 * between processes of one user when its ptrace policy does. Where it refuses, the reason is logged once, shown by
 * {@code backendInfo("SHM").limitations()} and {@code ferry doctor}, and those regions go through the next backend.
 * <p>
 * A peer is on the same host when its boot id and network namespace are this agent's
 * ({@link io.ferry.samehost.HostIdentity}); SHM then ranks before TCP without configuration. Requests of at least
 * {@code parallel_bytes} are cut into {@code copy_threads} parts of equal bytes copied in parallel; smaller ones
 * are copied by the posting thread before {@code post} returns. A notification goes after every byte is in place.
 */
package io.ferry.shm;
