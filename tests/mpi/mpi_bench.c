/* A small MPI benchmark for comparing guests with bare metal: ping-pong
 * latency (8 bytes), ping-pong bandwidth (1 MiB) between rank 0 and the
 * last rank (on another node when ranks are spread), and an 8-byte
 * Allreduce over all ranks, and the slowest rank's MPI_Init (the wire-up
 * through PMI).  Rank 0 prints one line per measure:
 *   latency_us N / bandwidth_MBps N / allreduce_us N / init_ms N */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double pingpong(int rank, int peer, char *buf, int bytes, int iters)
{
	double t0;

	MPI_Barrier(MPI_COMM_WORLD);
	t0 = MPI_Wtime();
	for (int i = 0; i < iters; i++) {
		if (rank == 0) {
			MPI_Send(buf, bytes, MPI_CHAR, peer, 0, MPI_COMM_WORLD);
			MPI_Recv(buf, bytes, MPI_CHAR, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		} else if (rank == peer) {
			MPI_Recv(buf, bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			MPI_Send(buf, bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
		}
	}
	return (MPI_Wtime() - t0) / iters / 2;	/* one way */
}

int main(int argc, char **argv)
{
	int rank, size, iters = argc > 1 ? atoi(argv[1]) : 1000;
	const int big = 1 << 20;
	double lat, bw, t0, ar;
	char *buf = malloc(big);
	long in = 1, out = 0;
	struct timespec a, b;
	double init, init_max = 0;

	clock_gettime(CLOCK_MONOTONIC, &a);
	MPI_Init(&argc, &argv);
	clock_gettime(CLOCK_MONOTONIC, &b);
	init = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (!buf || size < 2 || iters < 10) {
		if (rank == 0)
			fprintf(stderr, "mpi_bench: needs 2 ranks or more and ITERS >= 10\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	memset(buf, 1, big);
	pingpong(rank, size - 1, buf, 8, iters / 10);	/* warm up */
	lat = pingpong(rank, size - 1, buf, 8, iters);
	bw = big / pingpong(rank, size - 1, buf, big, iters / 10 > 10 ? iters / 10 : 10) / 1e6;
	MPI_Barrier(MPI_COMM_WORLD);
	t0 = MPI_Wtime();
	for (int i = 0; i < iters; i++)
		MPI_Allreduce(&in, &out, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	ar = (MPI_Wtime() - t0) / iters;
	MPI_Reduce(&init, &init_max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
	if (rank == 0) {
		printf("init_ms %.1f\n", init_max);
		printf("latency_us %.2f\n", lat * 1e6);
		printf("bandwidth_MBps %.1f\n", bw);
		printf("allreduce_us %.2f\n", ar * 1e6);
		printf("allreduce_sum %ld\n", out);
	}
	free(buf);
	MPI_Finalize();
	return 0;
}
