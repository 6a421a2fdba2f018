package io.ferry.etcd;

import org.junit.jupiter.api.Assumptions;

/**
 * The tests' etcd: a {@link LocalEtcd}; missing etcd fails the test under CI (where .ci/run installs it) and skips
 * it elsewhere, saying why.
 */
public final class EtcdServer
{
    private EtcdServer()
    {
    }

    /**
     * @return a running etcd (the test is skipped, or under CI fails, when etcd is not installed).
     * @throws Exception when it cannot start.
     */
    public static LocalEtcd start() throws Exception
    {
        if (null == LocalEtcd.binary())
        {
            final String why = "etcd is not installed (Debian: apt-get install etcd-server)";
            if ("true".equals(System.getenv("CI")))
            {
                throw new IllegalStateException(why + "; .ci/run should have installed it");
            }
            Assumptions.abort(why);
        }
        return LocalEtcd.start();
    }
}
