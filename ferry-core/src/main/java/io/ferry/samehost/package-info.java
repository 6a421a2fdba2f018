/**
 * The same-host road, shared by the backends that reach a peer on this host (SHM, CUDA): the host identity that
 * decides whether a peer is within reach ({@link io.ferry.samehost.HostIdentity}), the authenticated Unix-socket
 * channel that carries notifications and passes memory-file descriptors ({@link io.ferry.samehost.SameHostChannel}),
 * and the Linux system calls behind them, through FFM ({@link io.ferry.internal.Posix}).
 */
package io.ferry.samehost;
