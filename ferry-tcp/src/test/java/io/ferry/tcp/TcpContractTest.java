package io.ferry.tcp;

import io.ferry.Agent;
import io.ferry.contract.TwoProcessContract;

/**
 * The two-process contract every remote backend passes, over ferry's TCP backend on loopback.
 */
class TcpContractTest extends TwoProcessContract
{
    protected Agent initiator(final String prefix)
    {
        return TcpFixtures.tcpAgent(prefix, "ack_timeout_ms", "3000");
    }

    protected String backend()
    {
        return "TCP";
    }

    protected String[] peerParams()
    {
        return new String[] {"listen_address=127.0.0.1", "crc32c=true"};
    }
}
