/* pool.c - dispatch of the generic pool calls (memory_allocator_*) to a pool's model. */
#include "mm/pool.h"

static bool pool_valid(const struct alloc_pool_s *region)
{
	return region && region->model;
}

error_t memory_allocator_pop(struct alloc_pool_s *region, size_t size, void **addr)
{
	uintptr_t a;
	error_t e;

	if (!pool_valid(region) || !region->model->pop || !addr)
		return ERR_INVAL;
	if (size == 0)
		return ERR_SIZE;
	e = region->model->pop(region, size, &a);
	if (e)
		return e;
	*addr = (void *)a;
	return 0;
}

error_t memory_allocator_push(struct alloc_pool_s *region, void *addr)
{
	if (!pool_valid(region) || !region->model->push)
		return ERR_INVAL;
	return region->model->push(region, (uintptr_t)addr);
}

error_t memory_allocator_getsize(struct alloc_pool_s *region, void *addr, size_t *size)
{
	size_t s;
	error_t e;

	if (!pool_valid(region) || !region->model->getsize || !size)
		return ERR_INVAL;
	e = region->model->getsize(region, (uintptr_t)addr, &s);
	if (e)
		return e;
	*size = s;
	return 0;
}

bool memory_allocator_owns(struct alloc_pool_s *region, void *addr)
{
	if (!pool_valid(region) || !region->model->owns)
		return false;
	return region->model->owns(region, (uintptr_t)addr);
}
