/* Rank 1 aborts while the others wait in a barrier: the job must end
 * promptly with a failure and leave no rank behind. */
#include <mpi.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rank;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	if (rank == 1) {
		fprintf(stderr, "rank 1 aborting\n");
		MPI_Abort(MPI_COMM_WORLD, 3);
	}
	MPI_Barrier(MPI_COMM_WORLD);
	sleep(600);	/* never reached while rank 1 aborts */
	MPI_Finalize();
	return 0;
}
