/**
 * The CUDA backend: GPU memory (VRAM) through the CUDA driver API, bound with FFM ({@link io.ferry.cuda.CudaDriver};
 * no JNI, no toolkit). It copies VRAM to VRAM on one device or across devices and VRAM to and from host memory,
 * asynchronously on a stream per device with an event per post, completions observed by one progress thread; and it
 * reaches another process's VRAM on the same host through CUDA IPC memory handles published in the region's
 * metadata, so a peer READs or WRITEs it directly (pull as fast as push). Many small spans on a device are copied by
 * one launch of ferry's batched copy kernel ({@link io.ferry.cuda.CopyKernel}: PTX in the jar, compiled by the
 * driver), when {@link io.ferry.cuda.KernelRule} says so; few large ones by the driver's copies. Notifications to
 * such peers travel over the same-host channel SHM uses ({@link io.ferry.samehost.SameHostChannel}), authenticated
 * both ways. Where there is no driver or no GPU the backend reports itself unavailable with the reason, and agents
 * simply do not create it.
 */
package io.ferry.cuda;
