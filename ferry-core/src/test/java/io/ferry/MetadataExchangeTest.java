package io.ferry;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static io.ferry.Fixtures.expectError;
import static io.ferry.Fixtures.unique;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * NIXL test items 13-16: load / check / invalidate, partial metadata, changed connection info, own name, and the
 * generation that makes stale transfers fail with NOT_FOUND.
 */
@Timeout(30)
class MetadataExchangeTest
{
    private Arena arena;
    private Agent initiator;
    private Agent target;
    private MemorySegment targetMemory;
    private Registration targetReg;

    @BeforeEach
    void setUp()
    {
        arena = Arena.ofShared();
        initiator = Fixtures.localAgent("init");
        target = Fixtures.localAgent("target");
        targetMemory = arena.allocate(1 << 20, 4096);
        targetReg = target.register(MemoryKind.DRAM, List.of(Region.of(targetMemory)));
    }

    @AfterEach
    void tearDown()
    {
        initiator.close();
        target.close();
        arena.close();
    }

    @Test
    void loadCheckInvalidate()
    {
        final String peer = initiator.loadRemoteMetadata(target.localMetadata());
        assertThat(peer).isEqualTo(target.name());
        assertThat(initiator.peers()).containsExactly(peer);
        assertThat(initiator.checkRemote(peer, DescList.empty(MemoryKind.DRAM))).isTrue();
        assertThat(initiator.checkRemote(peer, DescList.dram(targetMemory.asSlice(0, 4096)))).isTrue();

        initiator.invalidateRemote(peer);
        assertThat(initiator.checkRemote(peer, DescList.empty(MemoryKind.DRAM))).isFalse();
        expectError(ErrorCode.NOT_FOUND, () -> initiator.invalidateRemote(peer));
    }

    @Test
    void loadingTwiceIsIdempotent()
    {
        final byte[] md = target.localMetadata();
        initiator.loadRemoteMetadata(md);
        initiator.loadRemoteMetadata(md);
        assertThat(initiator.checkRemote(target.name(), DescList.dram(targetMemory))).isTrue();
    }

    @Test
    void agentWithoutBackendCannotLoadAndGarbageIsMismatch()
    {
        try (Agent bare = Agent.create(AgentConfig.builder(unique("bare")).backends(List.of()).build()))
        {
            expectError(ErrorCode.BACKEND, () -> bare.loadRemoteMetadata(target.localMetadata()));
        }
        expectError(ErrorCode.MISMATCH,
            () -> initiator.loadRemoteMetadata("invalid".getBytes(StandardCharsets.US_ASCII)));
        expectError(ErrorCode.MISMATCH, () -> initiator.loadRemoteMetadata(new byte[0]));
        expectError(ErrorCode.MISMATCH, () -> initiator.loadRemoteMetadata(null));
    }

    @Test
    void ownMetadataIsInvalidParam()
    {
        expectError(ErrorCode.INVALID_PARAM, () -> initiator.loadRemoteMetadata(initiator.localMetadata()));
        expectError(ErrorCode.INVALID_PARAM, () -> initiator.invalidateRemote(initiator.name()));
    }

    @Test
    void partialMetadataMerges()
    {
        final MemorySegment second = arena.allocate(8192, 4096);
        final Registration secondReg = target.register(MemoryKind.DRAM, List.of(Region.of(second)));
        final String peer = target.name();

        initiator.loadRemoteMetadata(target.partialMetadata(DescList.empty(MemoryKind.DRAM), false));
        assertThat(initiator.checkRemote(peer, DescList.empty(MemoryKind.DRAM))).isTrue();
        assertThat(initiator.checkRemote(peer, DescList.dram(targetMemory))).isFalse();

        initiator.loadRemoteMetadata(target.partialMetadata(targetReg.descs(), false));
        assertThat(initiator.checkRemote(peer, DescList.dram(targetMemory))).isTrue();
        assertThat(initiator.checkRemote(peer, DescList.dram(second))).as("not sent yet").isFalse();

        initiator.loadRemoteMetadata(target.partialMetadata(secondReg.descs(), true));
        assertThat(initiator.checkRemote(peer, DescList.dram(targetMemory))).isTrue();
        assertThat(initiator.checkRemote(peer, DescList.dram(second))).isTrue();
    }

    @Test
    void partialMetadataErrors()
    {
        final MemorySegment unregistered = arena.allocate(4096, 4096);
        expectError(ErrorCode.NOT_FOUND, () -> target.partialMetadata(DescList.dram(unregistered), true));
        expectError(ErrorCode.NOT_FOUND,
            () -> target.partialMetadata(DescList.dram(targetMemory.asSlice(0, 4096)), true));

        final byte[] regionsOnly = target.partialMetadata(targetReg.descs(), false);
        final FerryException ex = expectError(ErrorCode.NOT_FOUND, () -> initiator.loadRemoteMetadata(regionsOnly));
        assertThat(ex.getMessage()).contains("connection info");
        assertThat(initiator.peers()).isEmpty();
    }

    @Test
    void changedConnectionInfoIsNotAllowedUntilInvalidated()
    {
        final String name = target.name();
        initiator.loadRemoteMetadata(target.localMetadata());
        target.close();
        try (Agent restarted = Agent.create(AgentConfig.builder(name).backends("LOCAL").build()))
        {
            final byte[] fresh = restarted.localMetadata();
            final FerryException ex = expectError(ErrorCode.NOT_ALLOWED, () -> initiator.loadRemoteMetadata(fresh));
            assertThat(ex.getMessage()).contains(name).contains("LOCAL");
            initiator.invalidateRemote(name);
            assertThat(initiator.loadRemoteMetadata(fresh)).isEqualTo(name);
        }
    }

    @Test
    void transfersMadeBeforeReloadFailWithNotFound()
    {
        final MemorySegment local = arena.allocate(4096, 4096);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final String peer = initiator.loadRemoteMetadata(target.localMetadata());
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local),
            DescList.dram(targetMemory.asSlice(0, 4096)), peer, TransferOptions.NONE);
        assertThat(t.post()).isEqualTo(TransferStatus.DONE);

        initiator.invalidateRemote(peer);
        initiator.loadRemoteMetadata(target.localMetadata());
        final FerryException ex = expectError(ErrorCode.NOT_FOUND, t::post);
        assertThat(ex.getMessage()).contains(peer).contains("re-loaded");
        assertThat(t.status()).isEqualTo(TransferStatus.FAILED);

        final Transfer fresh = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local),
            DescList.dram(targetMemory.asSlice(0, 4096)), peer, TransferOptions.NONE);
        assertThat(fresh.post()).isEqualTo(TransferStatus.DONE);
    }

    @Test
    void peerRegionsListWhatThePeerPublished()
    {
        final String peer = initiator.loadRemoteMetadata(target.localMetadata());
        final DescList regions = initiator.peerRegions(peer, MemoryKind.DRAM);
        assertThat(regions.size()).isEqualTo(1);
        assertThat(regions.address(0)).isEqualTo(targetMemory.address());
        assertThat(regions.length(0)).isEqualTo(targetMemory.byteSize());
        assertThat(initiator.peerRegions(peer, MemoryKind.VRAM).size()).isZero();
        expectError(ErrorCode.NOT_FOUND, () -> initiator.peerRegions("nobody", MemoryKind.DRAM));
    }

    @Test
    void republishedRegionReplacesTheOldOne()
    {
        final MemorySegment local = arena.allocate(4096, 4096);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final String peer = initiator.loadRemoteMetadata(target.localMetadata());
        final Transfer before = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local),
            DescList.dram(targetMemory.asSlice(0, 4096)), peer, TransferOptions.NONE);
        targetReg.close();
        target.register(MemoryKind.DRAM, List.of(Region.of(targetMemory)));
        initiator.loadRemoteMetadata(target.localMetadata());
        expectError(ErrorCode.NOT_FOUND, before::post);
        final Transfer after = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local),
            DescList.dram(targetMemory.asSlice(0, 4096)), peer, TransferOptions.NONE);
        assertThat(after.post()).isEqualTo(TransferStatus.DONE);
    }

    @Test
    void peerThatClosedIsReportedAsDisconnectedAndDropped()
    {
        final MemorySegment local = arena.allocate(4096, 4096);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final String peer = initiator.loadRemoteMetadata(target.localMetadata());
        final Transfer t = initiator.createTransfer(TransferOp.READ, DescList.dram(local),
            DescList.dram(targetMemory.asSlice(0, 4096)), peer, TransferOptions.NONE);
        target.close();
        final FerryException ex = expectError(ErrorCode.REMOTE_DISCONNECT, t::post);
        assertThat(ex.getMessage()).contains(peer);
        assertThat(t.status()).isEqualTo(TransferStatus.FAILED);
        assertThat(initiator.peers()).doesNotContain(peer);
        expectError(ErrorCode.NOT_FOUND, t::post);
    }

    @Test
    void deregisteredTargetRegionIsRefusedNotTouched()
    {
        final MemorySegment local = arena.allocate(4096, 4096);
        initiator.register(MemoryKind.DRAM, List.of(Region.of(local)));
        final String peer = initiator.loadRemoteMetadata(target.localMetadata());
        final Transfer t = initiator.createTransfer(TransferOp.WRITE, DescList.dram(local),
            DescList.dram(targetMemory.asSlice(0, 4096)), peer, TransferOptions.NONE);
        targetReg.close();
        expectError(ErrorCode.NOT_FOUND, t::post);
    }

    @Test
    void descriptorsOutsidePublishedRegionsAreNotFound()
    {
        final String peer = initiator.loadRemoteMetadata(target.localMetadata());
        final DescList outside = DescList.builder(MemoryKind.DRAM)
            .add(targetMemory.address(), 4096)
            .add(targetMemory.address() + targetMemory.byteSize() - 10, 20)
            .build();
        final FerryException ex = expectError(ErrorCode.NOT_FOUND, () -> initiator.prepare(peer, outside));
        assertThat(ex.getMessage()).contains("descriptor 1").contains(peer);
        assertThat(initiator.checkRemote(peer, outside)).isFalse();
    }
}
