from .max_iou_assigner import AssignResult, MaxIoUAssigner, assign_by_overlaps

__all__ = ['AssignResult', 'MaxIoUAssigner', 'assign_by_overlaps']
