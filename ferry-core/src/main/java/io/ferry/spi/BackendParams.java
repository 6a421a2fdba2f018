package io.ferry.spi;

import io.ferry.FerryException;

import java.util.Map;

/**
 * Reading a backend's parameters (strings, defaults filled in by the agent) with errors that name the backend, the
 * parameter and the value.
 */
public final class BackendParams
{
    private BackendParams()
    {
    }

    /**
     * @param params  the backend's parameters.
     * @param backend its name, for the message.
     * @param key     the parameter.
     * @param min     the smallest allowed value.
     * @param max     the largest allowed value.
     * @return the value.
     * @throws FerryException INVALID_PARAM when it is not a number within [min, max].
     */
    public static long number(final Map<String, String> params, final String backend, final String key,
        final long min, final long max)
    {
        final String v = params.get(key);
        final long n;
        try
        {
            n = Long.parseLong(null == v ? "" : v.trim());
        }
        catch (final NumberFormatException ex)
        {
            throw FerryException.invalid(backend + " parameter " + key + "=" + v + " is not a number");
        }
        if (n < min || n > max)
        {
            throw FerryException.invalid(backend + " parameter " + key + "=" + v + " is outside [" + min + ", " + max +
                "]");
        }
        return n;
    }
}
