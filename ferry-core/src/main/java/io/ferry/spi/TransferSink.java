package io.ferry.spi;

import io.ferry.FerryException;

/**
 * Where a backend reports the end of a posted request; called once per post, from any thread.
 */
public interface TransferSink
{
    /**
     * Every byte of the post is in place at its destination (and its notification, if any, was handed over).
     */
    void onComplete();

    /**
     * The post failed.
     *
     * @param error what went wrong, naming the peer, region or path at fault.
     */
    void onFailure(FerryException error);
}
