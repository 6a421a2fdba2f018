/**
 * The FILE backend: KV offload to storage and reload from it. An agent registers files (or ranges of them) as
 * {@link io.ferry.MemoryKind#FILE} regions ({@link io.ferry.file.FileRegions}) and moves bytes between its DRAM and
 * them with transfers to itself: READ is file to memory, WRITE memory to file (NIXL's model).
 * <p>
 * Engines: io_uring, through the raw system calls and the rings mapped with FFM (no liburing), a ring per I/O thread,
 * up to {@code queue_depth} I/Os in flight on each; where the kernel refuses io_uring, POSIX {@code pread}/{@code
 * pwrite} threads, chosen by itself with the reason logged once and shown by {@code backendInfo("FILE")} and
 * {@code ferry doctor}. An I/O whose memory address, file offset and length are aligned to {@code direct_alignment}
 * goes {@code O_DIRECT} where the file system allows it, buffered otherwise; {@code Transfer.telemetry().route()} says
 * which ran. Spans are cut into I/Os of at most {@code max_io_bytes}; contiguous spans were merged by the agent.
 * Without a sync a WRITE is DONE when the kernel has the bytes; a region registered with
 * {@link io.ferry.file.FileRegions.FileSync#FDATASYNC} or {@code FSYNC} makes its WRITEs wait for the device.
 */
package io.ferry.file;
