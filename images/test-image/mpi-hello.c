/* Smallest MPI program: proves the MPICH runtime in the test guest links
 * and initialises. Built on the host with Debian's mpicc. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char name[MPI_MAX_PROCESSOR_NAME];
	int rank, size, len;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Get_processor_name(name, &len);
	printf("mpi-hello: rank %d of %d on %s\n", rank, size, name);
	MPI_Finalize();
	return 0;
}
