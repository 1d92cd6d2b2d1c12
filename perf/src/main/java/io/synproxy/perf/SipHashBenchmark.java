package io.synproxy.perf;

import io.synproxy.cookie.SipHash;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** SipHash-2-4 alone, at the message sizes the engine hashes: the floor under the cookie's cost. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SipHashBenchmark {
    long k0 = 0x0706050403020100L;
    long k1 = 0x0f0e0d0c0b0a0908L;
    long m0 = 0x1122334455667788L;
    long m1 = 0x99aabbccddeeff00L;

    /** The IPv4 cookie: two words and the final block. */
    @Benchmark
    public long hash3() {
        return SipHash.hash3(k0, k1, m0, m1, 18L << 56);
    }

    /** The IPv6 cookie: five words and the final block. */
    @Benchmark
    public long hash6() {
        return SipHash.hash6(k0, k1, m0, m1, m0, m1, m0, 42L << 56);
    }
}
