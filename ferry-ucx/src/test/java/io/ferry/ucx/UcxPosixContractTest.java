package io.ferry.ucx;

import io.ferry.Agent;
import io.ferry.contract.TwoProcessContract;

/**
 * The two-process contract over UCX's {@code posix} shared memory transport. UCX cannot detect a failed peer on
 * shared memory alone, so a killed peer is found by {@code timeout_ms} (3 s here).
 */
@org.junit.jupiter.api.extension.ExtendWith(UcxLeakCheck.class)
class UcxPosixContractTest extends TwoProcessContract
{
    protected Agent initiator(final String prefix)
    {
        return UcxFixtures.ucxAgent(prefix, "posix,self", "timeout_ms", "3000");
    }

    protected String backend()
    {
        return "UCX";
    }

    protected String[] peerParams()
    {
        return new String[] {"UCX_TLS=posix,self"};
    }
}
