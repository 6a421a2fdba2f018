package io.ferry.shm;

import io.ferry.Agent;
import io.ferry.contract.TwoProcessContract;

/**
 * The two-process contract every remote backend passes, over SHM between two processes of this host.
 */
class ShmContractTest extends TwoProcessContract
{
    protected Agent initiator(final String prefix)
    {
        return ShmFixtures.shmAgent(prefix);
    }

    protected String backend()
    {
        return "SHM";
    }

    protected String[] peerParams()
    {
        return new String[0];
    }
}
