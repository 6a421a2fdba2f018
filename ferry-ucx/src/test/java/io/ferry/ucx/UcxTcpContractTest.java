package io.ferry.ucx;

import io.ferry.Agent;
import io.ferry.contract.TwoProcessContract;

/**
 * The two-process contract over UCX's {@code tcp} transport (peer failures detected by UCX).
 */
@org.junit.jupiter.api.extension.ExtendWith(UcxLeakCheck.class)
class UcxTcpContractTest extends TwoProcessContract
{
    protected Agent initiator(final String prefix)
    {
        return UcxFixtures.ucxAgent(prefix, "tcp", "timeout_ms", "5000");
    }

    protected String backend()
    {
        return "UCX";
    }

    protected String[] peerParams()
    {
        return new String[] {"UCX_TLS=tcp"};
    }
}
