/* fake-blas.c: a library that takes OpenBLAS's name without its functions, for test-cli. */
int dlen_fake_blas (void);

int
dlen_fake_blas (void)
{
  return 0;
}
