package io.ferry.cuda;

import io.ferry.Agent;
import io.ferry.AgentConfig;
import io.ferry.ErrorCode;
import io.ferry.FerryException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static io.ferry.Fixtures.expectError;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The binding layer's error paths, which every machine can check: a missing library, a library without the
 * driver's symbols, and how an agent reports a CUDA backend that cannot run here.
 */
@Timeout(30)
class CudaDriverErrorPathsTest
{
    @Test
    void aMissingLibraryIsNotSupportedNamingIt()
    {
        final FerryException ex = expectError(ErrorCode.NOT_SUPPORTED, () -> CudaDriver.load("/nonexistent/libcuda.so.1"));
        assertThat(ex.getMessage()).contains("cannot load the CUDA driver library /nonexistent/libcuda.so.1");
    }

    @Test
    void aLibraryWithoutTheDriversSymbolsIsNotSupportedNamingTheSymbol()
    {
        final FerryException ex = expectError(ErrorCode.NOT_SUPPORTED, () -> CudaDriver.load("libc.so.6"));
        assertThat(ex.getMessage()).contains("libc.so.6 has no symbol cuInit");
    }

    @Test
    void withoutAGpuTheBackendSaysWhyAndAgentsLeaveItOut()
    {
        final String reason = new CudaBackendProvider().unavailableReason();
        if (null != reason)
        {
            assertThat(reason).containsAnyOf("libcuda.so.1", "no device", "cuInit");
            assertThat(Agent.availableBackends()).doesNotContain("CUDA");
            final FerryException ex = expectError(ErrorCode.NOT_SUPPORTED, () ->
                Agent.create(AgentConfig.builder(io.ferry.Fixtures.unique("nocuda")).backends("CUDA").build()));
            assertThat(ex.getMessage()).contains("backend CUDA is not available on this host").contains(reason);
        }
        else
        {
            assertThat(Agent.availableBackends()).contains("CUDA");
        }
    }

    @Test
    void errorNamesAreMappedToCodes()
    {
        assertThat(new CudaException(1, "CUDA_ERROR_INVALID_VALUE", "cuMemAlloc_v2").getMessage())
            .isEqualTo("INVALID_PARAM: cuMemAlloc_v2 failed: CUDA_ERROR_INVALID_VALUE (1)");
        assertThat(new CudaException(2, "CUDA_ERROR_OUT_OF_MEMORY", "x").code()).isEqualTo(ErrorCode.BACKEND);
        assertThat(new CudaException(100, "CUDA_ERROR_NO_DEVICE", "x").code()).isEqualTo(ErrorCode.NOT_SUPPORTED);
        assertThat(new CudaException(100, "CUDA_ERROR_NO_DEVICE", "x").resultName()).isEqualTo("CUDA_ERROR_NO_DEVICE");
    }
}
