package io.ferry.cuda;

import io.ferry.ErrorCode;
import io.ferry.FerryException;

/**
 * A CUDA driver call failed: carries the {@code CUresult} and its name.
 */
public final class CudaException extends FerryException
{
    private static final long serialVersionUID = 1L;

    private final int result;
    private final String resultName;

    CudaException(final int result, final String resultName, final String call)
    {
        super(code(result), call + " failed: " + resultName + " (" + result + ")");
        this.result = result;
        this.resultName = resultName;
    }

    private static ErrorCode code(final int result)
    {
        return switch (result)
        {
            case 1, 400, 101 -> ErrorCode.INVALID_PARAM;   // INVALID_VALUE, INVALID_HANDLE, INVALID_DEVICE
            case 2 -> ErrorCode.BACKEND;                   // OUT_OF_MEMORY
            case 100, 3, 4 -> ErrorCode.NOT_SUPPORTED;     // NO_DEVICE, NOT_INITIALIZED, DEINITIALIZED
            default -> ErrorCode.BACKEND;
        };
    }

    /**
     * @return the CUresult value.
     */
    public int result()
    {
        return result;
    }

    /**
     * @return the CUresult's name, e.g. {@code CUDA_ERROR_INVALID_VALUE}.
     */
    public String resultName()
    {
        return resultName;
    }
}
